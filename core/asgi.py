"""ASGI entry point: Django wrapped in the body-size guard (``core.body_limits``), which refuses oversize
bodies before Django reads them."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from core.body_limits import BodyLimitASGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
application = BodyLimitASGI(get_asgi_application())

"""WSGI entry point: Django wrapped in the body-size guard (``core.body_limits``)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from core.body_limits import BodyLimitWSGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
application = BodyLimitWSGI(get_wsgi_application())

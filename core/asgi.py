"""ASGI entry point: Django wrapped in the body-size guard (``core.body_limits``), which refuses oversize
bodies before Django reads them. The handler is ``core.asgi_handler.StaminaASGIHandler``: Django's, with the
middleware chain and views run in one hop onto a reused request thread."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

from core.asgi_handler import get_asgi_application
from core.body_limits import BodyLimitASGI

application = BodyLimitASGI(get_asgi_application())

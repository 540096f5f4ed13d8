"""ASGI entry point: Django wrapped in the body-size guard (``core.body_limits``), which refuses oversize
bodies before Django reads them. The handler is ``core.asgi_handler.StaminaASGIHandler``: Django's, with the
middleware chain and views run in one hop onto a reused request thread. Objects alive after start-up are
frozen out of the garbage collector's full passes (``GC_FREEZE_AT_START``)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

from django.conf import settings

from core.asgi_handler import freeze_startup_objects, get_asgi_application
from core.body_limits import BodyLimitASGI

application = BodyLimitASGI(get_asgi_application())
if settings.GC_FREEZE_AT_START:
    freeze_startup_objects()

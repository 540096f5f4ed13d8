"""The API's error shape as plain Django responses: ``{"error": {"code", "message", "details"}}``.

No DRF here: the middleware, maintenance mode and the admin import this at start-up, and every ``manage.py``
command would otherwise pay for importing DRF (its serializers pull ``django.contrib.postgres`` and psycopg).
The DRF exception handler lives in ``core.api.exceptions`` and builds on these.
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(code: str, message: str, status_code: int, details: Any = None) -> JsonResponse:
    """A plain Django JSON response in the API's error shape (for views outside DRF)."""
    return JsonResponse(error_body(code, message, details), status=status_code)


# The database refused or dropped the connection (down, restarting, connect timeout): the request may succeed
# later, so 503 with Retry-After, never a 500 with a traceback.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = "5"


def database_unavailable_body() -> dict[str, Any]:
    return error_body("database_unavailable", "The database is unavailable; try again shortly.")

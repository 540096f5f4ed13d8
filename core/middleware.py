"""Request ids and JSON errors for API paths."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api.responses import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS, database_unavailable_body, error_response
from core.logging import request_id_var

logger = logging.getLogger("stamina.request")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take ``X-Request-ID`` from the client when it is sane, else make one; echo it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class ApiErrorMiddleware:
    """An unhandled exception under /api/ answers the JSON error shape, not Django's HTML 500 page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        if isinstance(exception, DATABASE_UNAVAILABLE):
            logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
            response = JsonResponse(database_unavailable_body(), status=503)
            response["Retry-After"] = RETRY_AFTER_SECONDS
            return response
        logger.exception("unhandled error on %s %s", request.method, request.path, exc_info=exception)
        return error_response(
            "server_error",
            "An unexpected error occurred; it has been logged.",
            500,
            {"request_id": getattr(request, "request_id", None)},
        )

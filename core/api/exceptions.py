"""One error shape for every API failure: ``{"error": {"code", "message", "details"}}``.

The DRF exception handler; the DRF-free helpers (``error_response`` …) are in ``core.api.responses``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.api.responses import (  # noqa: F401  (error_response, DATABASE_UNAVAILABLE: re-exported for callers)
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    database_unavailable_body,
    error_body,
    error_response,
)
from core.errors import ServiceError

_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def _message_of(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _message_of(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _message_of(value)
        return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler producing the project's error shape."""
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return Response(database_unavailable_body(), status=503, headers={"Retry-After": RETRY_AFTER_SECONDS})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = next((c for klass, c in _CODES.items() if isinstance(exc, klass)), None)
    if code is None:
        code = exc.default_code if isinstance(exc.default_code, str) else "error"
    if isinstance(exc, exceptions.ValidationError):
        message = "The request is invalid: " + _message_of(exc.detail)
        details: Any = exc.detail
    else:
        message = str(exc.detail) if not isinstance(exc.detail, (list, dict)) else _message_of(exc.detail)
        details = {"wait_seconds": exc.wait} if isinstance(exc, exceptions.Throttled) else None
    response.data = error_body(code, message, details)
    if response.status_code == status.HTTP_403_FORBIDDEN and isinstance(exc, exceptions.NotAuthenticated):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    return response

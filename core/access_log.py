"""Access log of the web process: one line per request on the ``stamina.access`` logger.

Each line carries the method, the path (never the query string, which may hold secrets), the status, the
duration in milliseconds, the request id and the user id (``-`` when anonymous or not authenticated by the
view). Headers are never logged, so neither are Bearer tokens or cookies. uvicorn runs with
``--no-access-log`` (Procfile): this logger replaces its access log because it knows the request id and user.
With ``LOG_FORMAT=json`` the fields are JSON keys (``method``, ``path``, ``status``, ``duration_ms``,
``user_id``, ``client``, ``request_id``); with ``LOG_FILE`` they land in the rotated log file too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, empty

logger = logging.getLogger("stamina.access")

# Re-encode the decoded path so control characters (%0A …) cannot forge log lines; keep it readable.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_MAX_PATH_CHARS = 500


def _user_id(request: HttpRequest) -> int | None:
    """The authenticated user's id, without forcing a session lookup the view did not need."""
    user = getattr(request, "user", None)
    if user is None:
        return None
    if isinstance(user, LazyObject) and user._wrapped is empty:  # never evaluated: the view did not authenticate
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return int(user.pk)


class AccessLogMiddleware:
    """Log every request after its response is built (placed right after RequestIdMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        if not settings.ACCESS_LOG:
            return response
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        path = quote(request.path, safe=_PATH_SAFE)[:_MAX_PATH_CHARS]
        user_id = _user_id(request)
        logger.info(
            "%s %s %s %.1fms user=%s",
            request.method,
            path,
            response.status_code,
            duration_ms,
            user_id if user_id is not None else "-",
            extra={
                "method": request.method,
                "path": path,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "user_id": user_id,
                "client": request.META.get("REMOTE_ADDR"),
                "request_id": getattr(request, "request_id", "-"),
            },
        )
        return response

"""Read-only maintenance mode: the runbooks' "stop all write operations / isolate" step.

While it is on, every write over HTTP (POST, PUT, PATCH, DELETE on the API and admin saves) answers 503 in the
API's error shape with the reason, reads keep working, and a few paths stay open (log in and out, the switch
itself). Background workers are not stopped by it: stop them (or beat) separately when jobs must not write.

The state is a ``core.MaintenanceChange`` row (the latest one wins), so every web process sees a change within
``MAINTENANCE_CACHE_SECONDS``; ``MAINTENANCE_MODE=true`` in the environment forces it on regardless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse

from core.api.responses import error_response
from core.errors import ServiceError
from core.models import MaintenanceChange, User

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The switch itself must stay usable from the admin while writes are refused (paths of this project, not ops').
_SWITCH_PATHS = ("/admin/core/maintenancechange/",)
RETRY_AFTER_SECONDS = 120


@dataclass(frozen=True)
class MaintenanceState:
    """Whether writes are refused; ``source`` is ``setting`` (MAINTENANCE_MODE), ``database`` or ``default``."""

    enabled: bool
    reason: str
    since: datetime | None
    changed_by: str | None
    source: str


_OFF = MaintenanceState(enabled=False, reason="", since=None, changed_by=None, source="default")
_lock = threading.Lock()
_cached: tuple[float, MaintenanceState] | None = None


def _read_database() -> MaintenanceState:
    row = MaintenanceChange.objects.select_related("changed_by").order_by("-changed_at", "-id").first()
    if row is None:
        return _OFF
    return MaintenanceState(
        enabled=row.enabled,
        reason=row.reason,
        since=row.changed_at,
        changed_by=row.changed_by.username if row.changed_by else None,
        source="database",
    )


def maintenance_state() -> MaintenanceState:
    """The current state; the database is read at most every ``MAINTENANCE_CACHE_SECONDS`` per process.

    When the database cannot be read the last known state is kept (writes would fail anyway).
    """
    global _cached
    if settings.MAINTENANCE_MODE:
        return MaintenanceState(
            enabled=True, reason=settings.MAINTENANCE_REASON, since=None, changed_by=None, source="setting"
        )
    now = time.monotonic()
    cached = _cached
    if cached is not None and cached[0] > now:
        return cached[1]
    with _lock:
        try:
            state = _read_database()
        except DatabaseError as exc:
            logger.warning("maintenance state unreadable, keeping the last known one: %s", exc)
            state = cached[1] if cached is not None else _OFF
        _cached = (now + settings.MAINTENANCE_CACHE_SECONDS, state)
    return state


def maintenance_reset_cache() -> None:
    """Forget the cached state (this process re-reads the database on the next request)."""
    global _cached
    _cached = None


def maintenance_set(*, enabled: bool, reason: str, actor: User | None) -> MaintenanceChange:
    """Switch maintenance mode on or off, with a reason (required); returns the new row.

    Other processes see it within ``MAINTENANCE_CACHE_SECONDS``; this one at once.
    """
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason_required", "Say why maintenance mode is switched (reason).")
    if len(reason) > 500:
        raise ServiceError("validation_error", "The reason is longer than 500 characters.")
    with transaction.atomic():
        row = MaintenanceChange.objects.create(enabled=enabled, reason=reason, changed_by=actor)
    transaction.on_commit(maintenance_reset_cache)
    maintenance_reset_cache()
    logger.warning(
        "maintenance mode %s by %s: %s", "ON" if enabled else "OFF", actor.username if actor else "system", reason
    )
    return row


def write_allowed_during_maintenance(path: str) -> bool:
    """Log in/out and the switch stay open; ``MAINTENANCE_ALLOWED_PATHS`` are path prefixes."""
    return path.startswith((*_SWITCH_PATHS, *settings.MAINTENANCE_ALLOWED_PATHS))


class MaintenanceMiddleware:
    """Refuse writes with 503 while maintenance mode is on; let reads and the allowed paths through."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in WRITE_METHODS and not write_allowed_during_maintenance(request.path):
            state = maintenance_state()
            if state.enabled:
                response = error_response(
                    "maintenance",
                    f"Stamina is in read-only maintenance; writes are refused until it ends: {state.reason}",
                    503,
                    {
                        "reason": state.reason,
                        "since": state.since.isoformat() if state.since else None,
                        "retry_after_seconds": RETRY_AFTER_SECONDS,
                    },
                )
                response["Retry-After"] = str(RETRY_AFTER_SECONDS)
                return response
        return self.get_response(request)

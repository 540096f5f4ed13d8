"""The date window a training-load request may ask for: bounded, so that one request costs bounded work.

Why: ``from=9999-12-01`` used to make the series run from the first activity to year 9999 (~5 s a request).
The series runs from the athlete's first stored day with load (or the seed date) to ``to``; with ``to`` at most
``MAX_LOAD_AHEAD_DAYS`` after today and activities no older than ``EARLIEST_LOAD_DATE`` that is at most a few
ten-thousand days of stored daily loads (well under a millisecond of filtering), whatever the caller sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.errors import ServiceError
from training.importers.bounds import EARLIEST_START

DEFAULT_LOAD_DAYS = 90
MAX_LOAD_DAYS = 3660  # ten years per request
MAX_LOAD_AHEAD_DAYS = 366  # how far past today fitness/fatigue may be projected (decay with no load)
EARLIEST_LOAD_DATE = EARLIEST_START.date()


@dataclass(frozen=True, slots=True)
class LoadWindow:
    date_from: date
    date_to: date

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


def _refuse(field: str, message: str) -> ServiceError:
    return ServiceError("validation_error", f"The request is invalid: {field}: {message}", details={field: [message]})


def load_window(*, date_from: date | None, date_to: date | None, today: date) -> LoadWindow:
    """``from``/``to`` with their defaults (``to`` today, ``from`` 90 days before ``to``) checked against the
    bounds above; a violation is a 400 ``validation_error`` naming the parameter."""
    latest = today + timedelta(days=MAX_LOAD_AHEAD_DAYS)
    end = date_to or today
    if not EARLIEST_LOAD_DATE <= end <= latest:
        raise _refuse("to", f"must be between {EARLIEST_LOAD_DATE} and {latest}")
    start = date_from or max(end - timedelta(days=DEFAULT_LOAD_DAYS - 1), EARLIEST_LOAD_DATE)
    if not EARLIEST_LOAD_DATE <= start <= latest:
        raise _refuse("from", f"must be between {EARLIEST_LOAD_DATE} and {latest}")
    if start > end:
        raise _refuse("from", "must not be after to")
    window = LoadWindow(start, end)
    if window.days > MAX_LOAD_DAYS:
        raise _refuse("from", f"at most {MAX_LOAD_DAYS} days per request, asked for {window.days}")
    return window

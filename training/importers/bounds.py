"""Physical bounds of an imported activity: what no real recording can exceed.

Why: one absurd sample (``t = 1e300``, a start in year 9999) used to be stored and then overflowed every
fitness/fatigue value for months. Every importer's result passes :func:`check_bounds`; a value outside these
bounds is refused as ``TRIMP_001`` (reason ``out_of_range``) naming the field, and nothing is stored.

* sample offsets (JSON streams' ``time``): 0 … ``MAX_ACTIVITY_SECONDS``; for files, whose samples may start a
  little before the summary's start, the span of the timestamps and the elapsed/timer times are bounded;
* the start: from ``EARLIEST_START`` to now + ``MAX_START_AHEAD`` (clock skew, time zones);
* heart rate: 0 … ``HR_PLAUSIBLE_MAX`` bpm for samples and averages. Values between the engine's valid range
  (25 … 250 bpm, docs/training-load.md) and these bounds are kept and then removed as invalid samples by the
  engine, as the spec says; beyond them the recording is corrupt.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from training.importers.base import ActivityFileError, FloatArray, ParsedActivity

MAX_ACTIVITY_SECONDS = 7 * 24 * 3600  # a week: multi-day ultra events fit, nothing real is longer
EARLIEST_START = datetime(1980, 1, 1, tzinfo=UTC)  # before wireless heart-rate monitors recorded anything
MAX_START_AHEAD = timedelta(days=1)
HR_PLAUSIBLE_MAX = 300.0


class ActivityOutOfRange(ActivityFileError):
    """A value outside the physical bounds; ``field`` names it (``time[12]``, ``start``, ``heartrate[3]``)."""

    def __init__(self, field: str, message: str) -> None:
        self.field: str = field
        super().__init__("out_of_range", f"{field}: {message}")


def check_start(start: datetime | None, *, now: datetime | None = None) -> None:
    """``start`` must lie between ``EARLIEST_START`` and now + ``MAX_START_AHEAD``."""
    if start is None:
        return
    latest = (now or datetime.now(UTC)) + MAX_START_AHEAD
    if not EARLIEST_START <= start <= latest:
        message = f"must be between {EARLIEST_START.date()} and {latest.date()}, got {start.isoformat()}"
        raise ActivityOutOfRange("start", message)


def _first_outside(values: FloatArray, low: float, high: float) -> int | None:
    finite = np.isfinite(values)
    bad = np.flatnonzero(finite & ((values < low) | (values > high)))
    if bad.size:
        return int(bad[0])
    return None


def check_offsets(times: FloatArray) -> None:
    """JSON streams: every offset from the start within 0 … ``MAX_ACTIVITY_SECONDS`` seconds."""
    index = _first_outside(times, 0.0, float(MAX_ACTIVITY_SECONDS))
    if index is not None:
        message = f"offsets must be from 0 to {MAX_ACTIVITY_SECONDS} s, got {times[index]:.6g}"
        raise ActivityOutOfRange(f"time[{index}]", message)


def check_bounds(parsed: ParsedActivity, *, now: datetime | None = None) -> None:
    """Raise :class:`ActivityOutOfRange` when ``parsed`` holds a value no real activity can have."""
    check_start(parsed.start, now=now)
    if parsed.source_format == "json":
        check_offsets(parsed.times)
    stamped = parsed.times[np.isfinite(parsed.times)]
    if stamped.size and float(stamped.max() - stamped.min()) > MAX_ACTIVITY_SECONDS:
        span = float(stamped.max() - stamped.min())
        raise ActivityOutOfRange("time", f"samples span {span:.6g} s, more than {MAX_ACTIVITY_SECONDS} s")
    if stamped.size and float(np.abs(stamped).max()) > 2 * MAX_ACTIVITY_SECONDS:
        raise ActivityOutOfRange("time", "samples lie further than two activity lengths from the start")
    for name, value in (("elapsed_seconds", parsed.elapsed_seconds), ("timer_seconds", parsed.timer_seconds)):
        if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_ACTIVITY_SECONDS):
            raise ActivityOutOfRange(name, f"must be from 0 to {MAX_ACTIVITY_SECONDS} s, got {value:.6g}")
    index = _first_outside(parsed.hrs, 0.0, HR_PLAUSIBLE_MAX)
    if index is not None:
        message = f"heart rate must be from 0 to {HR_PLAUSIBLE_MAX:g} bpm, got {parsed.hrs[index]:.6g}"
        raise ActivityOutOfRange(f"heartrate[{index}]", message)
    if parsed.session_avg_hr is not None and not (
        math.isfinite(parsed.session_avg_hr) and 0 < parsed.session_avg_hr <= HR_PLAUSIBLE_MAX
    ):
        raise ActivityOutOfRange("average_heartrate", f"must be above 0 and at most {HR_PLAUSIBLE_MAX:g} bpm")

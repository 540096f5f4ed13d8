"""What every importer returns and raises, plus the limits and helpers they share.

Importers are pure: ``bytes`` in, :class:`ParsedActivity` out, no Django, no network, no file system.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from training.engine.errors import HeartRateDataError

SourceFormat = Literal["fit", "tcx", "gpx", "json"]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_SAMPLES = 200_000

FloatArray = npt.NDArray[np.float64]


class ActivityFileError(HeartRateDataError):
    """The file cannot be read (code ``TRIMP_001``). ``reason`` is a stable key for the API and logs:
    ``empty``, ``unsupported_format``, ``malformed``, ``forbidden_xml`` (DTD/entities/external references),
    ``no_activity`` (a valid file without samples or summary), ``too_large``, ``too_many_samples``."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason: str = reason
        super().__init__(message)


class ActivityFileTooLarge(ActivityFileError):
    """The file exceeds a limit (``reason``: ``too_large`` for bytes, ``too_many_samples``); the API answers
    413. ``limit`` is the limit that was exceeded (bytes or samples)."""

    def __init__(self, reason: str, message: str, *, limit: int) -> None:
        self.limit: int = limit
        super().__init__(reason, message)


@dataclass(frozen=True, slots=True, eq=False)
class ParsedActivity:
    """One activity read from a file.

    * ``sport``: lower-case sport name as the file says it (``running``, ``cycling``, ...) or ``None``;
    * ``start``: aware UTC datetime of the activity's start (file summary, else first sample), ``None`` only
      when the format carries no absolute time (JSON streams without a ``start`` argument);
    * ``times``: seconds relative to ``start`` (float64, NaN where a sample had no timestamp), file order;
    * ``hrs``: bpm (float64, NaN where missing), same length; both arrays are read-only;
    * ``timer_seconds``: timer (moving) time from the file's summary (FIT sessions, TCX laps), else ``None``;
    * ``elapsed_seconds``: elapsed time from the summary, else the span of the timestamps, else ``None``;
    * ``session_avg_hr``: the FIT session average HR (bpm), else ``None``;
    * ``external_id``: a stable id for de-duplication (``fit:<serial>:<time_created>`` or ``sha256:<hex>``);
    * ``source_format``: ``fit`` | ``tcx`` | ``gpx`` | ``json``.
    """

    sport: str | None
    start: datetime | None
    times: FloatArray
    hrs: FloatArray
    timer_seconds: float | None
    elapsed_seconds: float | None
    session_avg_hr: float | None
    external_id: str
    source_format: SourceFormat

    @property
    def sample_count(self) -> int:
        """Number of samples in the file (with or without timestamp or HR)."""
        return int(self.times.size)


def check_size(data: bytes, max_bytes: int) -> None:
    """Raise :class:`ActivityFileTooLarge` above ``max_bytes`` and :class:`ActivityFileError` when empty."""
    if len(data) > max_bytes:
        raise ActivityFileTooLarge(
            "too_large", f"file is {len(data)} bytes, the limit is {max_bytes} bytes", limit=max_bytes
        )
    if not data:
        raise ActivityFileError("empty", "file is empty")


def too_many_samples(max_samples: int) -> ActivityFileTooLarge:
    """The error for a file with more than ``max_samples`` samples."""
    message = f"file has more than {max_samples} samples"
    return ActivityFileTooLarge("too_many_samples", message, limit=max_samples)


def content_id(data: bytes) -> str:
    """``sha256:<hex>`` of the file's bytes: the external id of formats without a device id."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp as an aware UTC datetime (no offset means UTC, as GPX and TCX specify)."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ActivityFileError("malformed", f"invalid timestamp {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_number(text: str | None, what: str) -> float:
    """A finite decimal number from element text; anything else is a malformed file."""
    try:
        value = float((text or "").strip())
    except ValueError as exc:
        raise ActivityFileError("malformed", f"invalid {what} {(text or '')[:40]!r}") from exc
    if not math.isfinite(value):
        raise ActivityFileError("malformed", f"invalid {what} {text!r}")
    return value


def build_activity(
    *,
    epochs: list[float],
    hrs: list[float],
    start: datetime | None,
    sport: str | None,
    timer_seconds: float | None,
    elapsed_seconds: float | None,
    session_avg_hr: float | None,
    external_id: str,
    source_format: SourceFormat,
) -> ParsedActivity:
    """Assemble a :class:`ParsedActivity` from absolute sample times (POSIX seconds, NaN = none) and HRs.

    ``start`` defaults to the earliest sample time; ``elapsed_seconds`` to the span of the sample times.
    """
    absolute = np.asarray(epochs, dtype=np.float64)
    heart_rates = np.asarray(hrs, dtype=np.float64)
    if absolute.size != heart_rates.size:
        raise ActivityFileError("malformed", "sample times and heart rates differ in length")
    stamped = absolute[np.isfinite(absolute)]
    if start is None and stamped.size:
        start = datetime.fromtimestamp(float(stamped.min()), tz=UTC)
    if elapsed_seconds is None and stamped.size:
        elapsed_seconds = float(stamped.max() - stamped.min())
    if start is None and session_avg_hr is None and timer_seconds is None:
        raise ActivityFileError("no_activity", "file has neither timestamped samples nor an activity summary")
    relative = absolute - start.timestamp() if start is not None else absolute
    relative.setflags(write=False)
    heart_rates.setflags(write=False)
    return ParsedActivity(
        sport=sport,
        start=start,
        times=relative,
        hrs=heart_rates,
        timer_seconds=timer_seconds,
        elapsed_seconds=elapsed_seconds,
        session_avg_hr=session_avg_hr,
        external_id=external_id,
        source_format=source_format,
    )

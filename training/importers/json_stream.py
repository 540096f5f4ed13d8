"""JSON heart-rate streams in Strava's shape.

Accepted (``key_by_type=true``): ``{"time": {"data": [0, 1, ...]}, "heartrate": {"data": [120, ...]}}``;
and the list form Strava returns without ``key_by_type``: ``[{"type": "time", "data": [...]}, ...]``.
``time`` is seconds from the activity's start (required); ``heartrate`` is bpm (optional: without it the
activity has no HR stream); ``null`` marks a missing value. Other streams (distance, watts, ...) are
ignored. The streams carry no absolute time, timer time or average: pass ``start`` (the activity's start
from the API's activity record) to date it.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np

from training.importers.base import (
    DEFAULT_MAX_SAMPLES,
    ActivityFileError,
    ParsedActivity,
    content_id,
    too_many_samples,
)


def parse_json_stream(
    data: bytes, *, start: datetime | None = None, max_samples: int = DEFAULT_MAX_SAMPLES
) -> ParsedActivity:
    """Parse Strava-shaped JSON streams (``bytes``); raises :class:`ActivityFileError` (``TRIMP_001``)."""
    if start is not None and start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, over-long integers, nesting
        raise ActivityFileError("malformed", f"not valid JSON: {exc}") from exc
    streams = _streams_by_type(document)
    if "time" not in streams:
        raise ActivityFileError("malformed", "JSON streams have no 'time' stream")
    times = _series(streams["time"], "time", max_samples)
    hrs = _series(streams["heartrate"], "heartrate", max_samples) if "heartrate" in streams else None
    if hrs is None:
        hrs = np.full(times.size, np.nan)
    if hrs.size != times.size:
        message = f"'time' has {times.size} samples but 'heartrate' has {hrs.size}"
        raise ActivityFileError("malformed", message)
    if not np.isfinite(times).any():
        raise ActivityFileError("no_activity", "JSON 'time' stream has no sample")
    stamped = times[np.isfinite(times)]
    times.setflags(write=False)
    hrs.setflags(write=False)
    return ParsedActivity(
        sport=None,
        start=start.astimezone(UTC) if start is not None else None,
        times=times,
        hrs=hrs,
        timer_seconds=None,
        elapsed_seconds=float(stamped.max() - stamped.min()),
        session_avg_hr=None,
        # The start is part of the identity: the same samples at another time are another activity.
        external_id=content_id(data if start is None else data + b"\n@" + start.astimezone(UTC).isoformat().encode()),
        source_format="json",
    )


def _streams_by_type(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return {key: value for key, value in document.items() if isinstance(key, str)}
    if isinstance(document, list):
        streams: dict[str, Any] = {}
        for item in document:
            if not isinstance(item, dict) or not isinstance(item.get("type"), str):
                raise ActivityFileError("malformed", "JSON stream list items need a 'type' and 'data'")
            streams[item["type"]] = item
        return streams
    raise ActivityFileError("malformed", "JSON streams must be an object keyed by type or a list of streams")


def _series(stream: Any, name: str, max_samples: int) -> np.ndarray:
    values = stream.get("data") if isinstance(stream, dict) else None
    if not isinstance(values, list):
        raise ActivityFileError("malformed", f"JSON stream {name!r} has no 'data' list")
    if len(values) > max_samples:
        raise too_many_samples(max_samples)
    series = np.empty(len(values), dtype=np.float64)
    for index, value in enumerate(values):
        if value is None:
            series[index] = math.nan
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            series[index] = value
        else:
            message = f"JSON stream {name!r} has a non-number at {index}: {value!r:.40}"
            raise ActivityFileError("malformed", message)
    return series

"""TCX (Garmin Training Center XML v2) importer.

Reads every ``Activity``: trackpoint ``Time`` and ``HeartRateBpm/Value``, the sport, and the timer time as
``Lap/TotalTimeSeconds`` summed over all laps (``docs/training-load.md``). TCX has no session average HR
that the definitions use, so ``session_avg_hr`` is ``None``. A trackpoint without ``Time`` is kept as a
sample without timestamp (the engine drops it); an unreadable time or number raises.
"""

from __future__ import annotations

import math
from datetime import datetime
from xml.etree.ElementTree import Element

from training.importers.base import (
    DEFAULT_MAX_SAMPLES,
    ActivityFileError,
    ParsedActivity,
    build_activity,
    content_id,
    parse_number,
    parse_timestamp,
    too_many_samples,
)
from training.importers.xml_common import iter_closed_elements, local_name

# TCX's Sport attribute ("Running" | "Biking" | "Other") in the vocabulary FIT uses.
TCX_SPORTS = {"running": "running", "biking": "cycling", "other": "other"}


def parse_tcx(data: bytes, *, max_samples: int = DEFAULT_MAX_SAMPLES) -> ParsedActivity:
    """Parse a TCX file (``bytes``); raises :class:`ActivityFileError` (``TRIMP_001``) when unreadable."""
    epochs: list[float] = []
    hrs: list[float] = []
    timer_seconds: float | None = None
    start: datetime | None = None
    sport: str | None = None
    activities = 0

    for element, path in iter_closed_elements(data, root="TrainingCenterDatabase", what="TCX"):
        name = path[-1]
        if "Activity" not in path:
            continue
        if name == "Trackpoint":
            if len(epochs) >= max_samples:
                raise too_many_samples(max_samples)
            epoch, hr = _read_trackpoint(element)
            epochs.append(epoch)
            hrs.append(hr)
            element.clear()
        elif name == "TotalTimeSeconds" and path[-2] == "Lap":
            timer_seconds = (timer_seconds or 0.0) + parse_number(element.text, "Lap/TotalTimeSeconds")
        elif name == "Lap":
            lap_start = element.get("StartTime")
            if start is None and lap_start:
                start = parse_timestamp(lap_start)
            element.clear()
        elif name == "Id" and path[-2] == "Activity" and start is None and (element.text or "").strip():
            start = parse_timestamp(element.text or "")
        elif name == "Activity":
            activities += 1
            if sport is None and element.get("Sport"):
                raw = (element.get("Sport") or "").strip().lower()
                sport = TCX_SPORTS.get(raw, raw or None)
            element.clear()

    if activities == 0:
        raise ActivityFileError("no_activity", "TCX file contains no Activity")
    return build_activity(
        epochs=epochs,
        hrs=hrs,
        start=start,
        sport=sport,
        timer_seconds=timer_seconds,
        elapsed_seconds=None,
        session_avg_hr=None,
        external_id=content_id(data),
        source_format="tcx",
    )


def _read_trackpoint(element: Element) -> tuple[float, float]:
    epoch = math.nan
    hr = math.nan
    for child in element:
        name = local_name(child.tag)
        if name == "Time" and (child.text or "").strip():
            epoch = parse_timestamp(child.text or "").timestamp()
        elif name == "HeartRateBpm":
            for value in child:
                if local_name(value.tag) == "Value" and (value.text or "").strip():
                    hr = parse_number(value.text, "heart rate")
    return epoch, hr

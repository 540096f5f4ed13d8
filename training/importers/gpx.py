"""GPX 1.0/1.1 importer: track points with heart rate from an extension.

Heart rate is read from any element named ``hr`` or ``heartrate`` inside a track point's ``extensions``,
whatever its namespace prefix: Garmin's TrackPointExtension (``gpxtpx:hr``, ``ns3:hr``), Cluetrust
``gpxdata:hr`` and similar. GPX has no timer time or session average (both ``None``); ``start`` is
``metadata/time`` when present, else the first track point's time; ``sport`` is the first ``trk/type``.
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

HR_EXTENSION_NAMES = frozenset({"hr", "heartrate"})


def parse_gpx(data: bytes, *, max_samples: int = DEFAULT_MAX_SAMPLES) -> ParsedActivity:
    """Parse a GPX file (``bytes``); raises :class:`ActivityFileError` (``TRIMP_001``) when unreadable."""
    epochs: list[float] = []
    hrs: list[float] = []
    start: datetime | None = None
    sport: str | None = None
    tracks = 0

    for element, path in iter_closed_elements(data, root="gpx", what="GPX"):
        name = path[-1]
        if name == "trkpt":
            if len(epochs) >= max_samples:
                raise too_many_samples(max_samples)
            epoch, hr = _read_track_point(element)
            epochs.append(epoch)
            hrs.append(hr)
            element.clear()
        elif name == "time" and path[-2] == "metadata" and (element.text or "").strip():
            start = parse_timestamp(element.text or "")
        elif name == "type" and path[-2] == "trk" and sport is None:
            sport = (element.text or "").strip().lower() or None
        elif name == "trk":
            tracks += 1
            element.clear()

    if tracks == 0:
        raise ActivityFileError("no_activity", "GPX file contains no track")
    finite = [epoch for epoch in epochs if not math.isnan(epoch)]
    if finite and start is not None and start.timestamp() > min(finite):
        start = None  # metadata time after the first point (some exporters write the export time there)
    return build_activity(
        epochs=epochs,
        hrs=hrs,
        start=start,
        sport=sport,
        timer_seconds=None,
        elapsed_seconds=None,
        session_avg_hr=None,
        external_id=content_id(data),
        source_format="gpx",
    )


def _read_track_point(element: Element) -> tuple[float, float]:
    epoch = math.nan
    hr = math.nan
    for child in element:
        name = local_name(child.tag)
        if name == "time" and (child.text or "").strip():
            epoch = parse_timestamp(child.text or "").timestamp()
        elif name == "extensions":
            for node in child.iter():
                if local_name(node.tag).lower() in HR_EXTENSION_NAMES and (node.text or "").strip():
                    hr = parse_number(node.text, "heart rate")
    return epoch, hr

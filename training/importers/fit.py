"""FIT importer (Garmin's binary activity format).

Parser choice: Garmin's official ``garmin-fit-sdk`` decodes; ``fitdecode`` is only the fallback.

* Speed, measured with ``bench/bench_engine.py`` on the five shared device files (24,884 record messages,
  CRC checked, 2-CPU AMD EPYC VM, several runs): ``garmin-fit-sdk`` 21.218 decodes 27,000-39,000
  records/s; ``fitdecode`` 0.11 14,000-16,000 records/s with its default processor (the one that applies
  scales and units, which we need) and 16,000-22,000 with ``processor=None``. The SDK is about 2x faster.
* Correctness: the SDK is Garmin's reference decoder and follows the FIT profile releases (new messages and
  fields arrive with its version); it checks the file CRC, reads chained files and the COROS file's odd
  field sizes (same records as ``fitdecode``, tested), and reports problems as a list of errors rather than
  warnings; we turn any error into a hard failure, so a damaged file never yields a partial activity.
* Its one gap that matters here: it refuses compressed-timestamp record headers ("not currently
  supported"), which ``fitdecode`` reads, so such files are decoded with ``fitdecode`` instead (tested with
  a file built in the tests).

Memory: the SDK keeps every decoded message; a message listener copies what we need from each ``record``
and empties the dict, and decoding stops once the file has more than ``max_samples`` records (or more than
``MESSAGES_PER_SAMPLE`` times as many messages of any kind, at least ``MIN_MESSAGE_BUDGET``), so a hostile
50 MiB file cannot use gigabytes.

Not read: HR stored only in ``hr`` messages (HRM-Swim/Tri), which the SDK could merge into records; such an
activity has no HR stream here and is scored from the session's average HR (reason ``stream_missing``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from training.importers.base import (
    DEFAULT_MAX_SAMPLES,
    ActivityFileError,
    ParsedActivity,
    build_activity,
    content_id,
    too_many_samples,
)

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
FIT_EPOCH_POSIX = FIT_EPOCH.timestamp()

MESG_FILE_ID = 0
MESG_SESSION = 18
MESG_RECORD = 20
# Messages kept whole by the listener: what we read, and what the SDK itself reads back while decoding.
MESGS_KEPT = frozenset({MESG_FILE_ID, MESG_SESSION, 206, 207})  # 206/207: field description, developer id
MESSAGES_PER_SAMPLE = 4
MIN_MESSAGE_BUDGET = 100_000

SESSION_FIELDS = ("start_time", "sport", "total_timer_time", "total_elapsed_time", "avg_heart_rate")


class _LimitExceeded(Exception):
    """Raised from the SDK's message listener to stop decoding an oversize file."""


class _CompressedTimestamps(Exception):
    """The SDK cannot decode compressed-timestamp headers: decode with fitdecode."""


@dataclass
class _FitContent:
    """What we read from a FIT file, whichever decoder read it. Times in seconds since the FIT epoch."""

    record_times: list[float] = field(default_factory=list)
    record_hrs: list[float] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    file_id: dict[str, Any] = field(default_factory=dict)


def is_fit(head: bytes) -> bool:
    """True when ``head`` (the first 12+ bytes) is a FIT file header."""
    return len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT"


def parse_fit(data: bytes, *, max_samples: int = DEFAULT_MAX_SAMPLES) -> ParsedActivity:
    """Parse a FIT activity file (``bytes``); raises :class:`ActivityFileError` (``TRIMP_001``) when the
    file is not FIT, fails its CRC, is truncated or damaged, is not an activity, or exceeds ``max_samples``.

    Sample times come from ``record.timestamp``, HR from ``record.heart_rate``; ``timer_seconds`` and
    ``elapsed_seconds`` are ``session.total_timer_time``/``total_elapsed_time`` summed over sessions;
    ``session_avg_hr`` is ``session.avg_heart_rate`` (weighted by timer time when there are several).
    """
    if not is_fit(data[:14]):
        raise ActivityFileError("unsupported_format", "not a FIT file (no .FIT header)")
    try:
        content = _decode_with_sdk(data, max_samples)
    except _CompressedTimestamps:
        content = _decode_with_fitdecode(data, max_samples)
    return _to_activity(content, data)


def _decode_with_sdk(data: bytes, max_samples: int) -> _FitContent:
    content = _FitContent()
    message_budget = _message_budget(max_samples)
    messages_seen = 0

    def listener(mesg_num: int, message: dict[Any, Any]) -> None:
        nonlocal messages_seen
        messages_seen += 1
        if messages_seen > message_budget:
            raise _LimitExceeded
        if mesg_num == MESG_RECORD:
            if len(content.record_times) >= max_samples:
                raise _LimitExceeded
            content.record_times.append(_number(message.get("timestamp")))
            content.record_hrs.append(_number(message.get("heart_rate")))
        if mesg_num not in MESGS_KEPT:
            message.clear()

    # Imported here: the SDK's profile tables cost ~0.1 s to import, and every manage.py command imports
    # this package (the upload limits) while only FIT decoding needs the SDK.
    from garmin_fit_sdk import Decoder, Stream

    try:
        decoder = Decoder(Stream.from_byte_array(bytearray(data)))
        messages, errors = decoder.read(
            apply_scale_and_offset=True,
            convert_datetimes_to_dates=False,
            convert_types_to_strings=True,
            enable_crc_check=True,
            expand_sub_fields=False,
            expand_components=False,
            merge_heart_rates=False,
            mesg_listener=listener,
        )
    except Exception as exc:  # the SDK's own failures, whatever their type, mean an unreadable file
        raise ActivityFileError("malformed", f"FIT file could not be decoded: {exc}") from exc
    for error in errors:
        if isinstance(error, _LimitExceeded):
            raise too_many_samples(max_samples)
        if "compressed timestamp" in str(error).lower():
            raise _CompressedTimestamps
    if errors:
        raise ActivityFileError("malformed", f"FIT file is damaged or truncated: {errors[0]}")
    content.sessions = [{k: m.get(k) for k in SESSION_FIELDS} for m in messages.get("session_mesgs", [])]
    file_ids = messages.get("file_id_mesgs", [])
    content.file_id = dict(file_ids[0]) if file_ids else {}
    return content


def _decode_with_fitdecode(data: bytes, max_samples: int) -> _FitContent:
    # Not at the top: fitdecode is only needed for the rare compressed-timestamp files.
    import fitdecode

    content = _FitContent()
    message_budget = _message_budget(max_samples)
    messages_seen = 0
    try:
        with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.ENABLED) as reader:
            for frame in reader:
                if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                    continue
                messages_seen += 1
                if messages_seen > message_budget:
                    raise too_many_samples(max_samples)
                number = frame.global_mesg_num
                if number == MESG_RECORD:
                    if len(content.record_times) >= max_samples:
                        raise too_many_samples(max_samples)
                    content.record_times.append(_fit_seconds(frame.get_value("timestamp", fallback=None)))
                    content.record_hrs.append(_number(frame.get_value("heart_rate", fallback=None)))
                elif number == MESG_SESSION:
                    session = {k: frame.get_value(k, fallback=None) for k in SESSION_FIELDS}
                    session["start_time"] = _fit_seconds(session["start_time"])
                    content.sessions.append(session)
                elif number == MESG_FILE_ID and not content.file_id:
                    content.file_id = {f.name: f.value for f in frame.fields}
                    content.file_id["time_created"] = _fit_seconds(content.file_id.get("time_created"))
    except ActivityFileError:
        raise
    except Exception as exc:  # fitdecode's FitError family and anything a damaged file provokes
        raise ActivityFileError("malformed", f"FIT file is damaged or truncated: {exc}") from exc
    return content


def _to_activity(content: _FitContent, data: bytes) -> ParsedActivity:
    file_type = content.file_id.get("type")
    if file_type is not None and file_type != "activity":
        raise ActivityFileError("no_activity", f"FIT file type is {file_type!r}, not an activity")
    sessions = content.sessions
    timer_seconds = _sum_field(sessions, "total_timer_time")
    elapsed_seconds = _sum_field(sessions, "total_elapsed_time")

    starts = [s for s in (_number(x.get("start_time")) for x in sessions) if not math.isnan(s)]
    stamped = [t for t in content.record_times if not math.isnan(t)]
    created = _number(content.file_id.get("time_created"))
    start_fit = min(starts) if starts else (min(stamped) if stamped else created)
    start = None if math.isnan(start_fit) else FIT_EPOCH + timedelta(seconds=start_fit)

    sports = {str(s["sport"]) for s in sessions if s.get("sport") is not None}
    sport = sports.pop() if len(sports) == 1 else ("multisport" if sports else None)

    serial = content.file_id.get("serial_number")
    has_device_id = serial is not None and not math.isnan(created)
    external_id = f"fit:{serial}:{int(created)}" if has_device_id else content_id(data)

    return build_activity(
        epochs=[t + FIT_EPOCH_POSIX for t in content.record_times],
        hrs=content.record_hrs,
        start=start,
        sport=sport,
        timer_seconds=timer_seconds,
        elapsed_seconds=elapsed_seconds,
        session_avg_hr=_session_average_hr(sessions),
        external_id=external_id,
        source_format="fit",
    )


def _message_budget(max_samples: int) -> int:
    return max(max_samples * MESSAGES_PER_SAMPLE, MIN_MESSAGE_BUDGET)


def _session_average_hr(sessions: list[dict[str, Any]]) -> float | None:
    with_hr = [s for s in sessions if not math.isnan(_number(s.get("avg_heart_rate")))]
    if not with_hr:
        return None
    if len(with_hr) == 1:
        return float(with_hr[0]["avg_heart_rate"])
    weights = [_number(s.get("total_timer_time")) for s in with_hr]
    if any(math.isnan(w) for w in weights) or sum(weights) <= 0:
        return sum(float(s["avg_heart_rate"]) for s in with_hr) / len(with_hr)
    return sum(float(s["avg_heart_rate"]) * w for s, w in zip(with_hr, weights, strict=True)) / sum(weights)


def _sum_field(sessions: list[dict[str, Any]], name: str) -> float | None:
    values = [v for v in (_number(s.get(name)) for s in sessions) if not math.isnan(v)]
    return float(sum(values)) if values else None


def _number(value: object) -> float:
    """A numeric FIT value as float; NaN for a missing or non-numeric one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return float(value)


def _fit_seconds(value: object) -> float:
    """fitdecode's datetimes as seconds since the FIT epoch (NaN when missing)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (aware - FIT_EPOCH).total_seconds()
    return _number(value)

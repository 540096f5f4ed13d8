"""Activity file importers: pure parsers from ``bytes`` to :class:`ParsedActivity` (no Django).

Entry points: :func:`detect_format` and :func:`parse`. Every failure raises :class:`ActivityFileError`
(code ``TRIMP_001``, a ``reason`` key); a file over a limit raises its subclass
:class:`ActivityFileTooLarge` so the API can answer 413.
"""

from __future__ import annotations

import zlib
from datetime import datetime

from training.importers.base import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_SAMPLES,
    ActivityFileError,
    ActivityFileTooLarge,
    ParsedActivity,
    SourceFormat,
    check_size,
)
from training.importers.bounds import ActivityOutOfRange, check_bounds
from training.importers.fit import is_fit, parse_fit
from training.importers.gpx import parse_gpx
from training.importers.json_stream import parse_json_stream
from training.importers.tcx import parse_tcx

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_SAMPLES",
    "ActivityFileError",
    "ActivityFileTooLarge",
    "ActivityOutOfRange",
    "ParsedActivity",
    "SourceFormat",
    "detect_format",
    "parse",
    "parse_fit",
    "parse_gpx",
    "parse_json_stream",
    "parse_tcx",
]

EXTENSIONS: dict[str, SourceFormat] = {".fit": "fit", ".tcx": "tcx", ".gpx": "gpx", ".json": "json"}
GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 4096


def detect_format(filename: str | None, head_bytes: bytes) -> SourceFormat:
    """The file's format from its first bytes (at least 12; 4 KiB recommended), else from its extension.

    Content wins over the name: a ``.fit`` upload that is really GPX is read as GPX. Raises
    :class:`ActivityFileError` (``unsupported_format``) when neither says FIT, TCX, GPX or JSON.
    """
    if is_fit(head_bytes):
        return "fit"
    text = head_bytes[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")  # UTF-8 BOM and leading whitespace
    if text.startswith(b"<"):
        if b"<TrainingCenterDatabase" in text:
            return "tcx"
        if b"<gpx" in text:
            return "gpx"
    if text[:1] in (b"{", b"["):
        return "json"
    name = (filename or "").lower().removesuffix(".gz")
    for extension, source_format in EXTENSIONS.items():
        if name.endswith(extension):
            return source_format
    raise ActivityFileError("unsupported_format", "not a FIT, TCX, GPX or JSON stream file")


def parse(
    data: bytes,
    filename: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    start: datetime | None = None,
    now: datetime | None = None,
) -> ParsedActivity:
    """Detect the format and parse ``data``; gzip-compressed files (``.fit.gz``) are unpacked first, with
    ``max_bytes`` applying to both the upload and the unpacked size. ``start`` dates JSON streams only.

    Raises :class:`ActivityFileTooLarge` over ``max_bytes``/``max_samples``, :class:`ActivityOutOfRange`
    outside the physical bounds of ``training.importers.bounds`` (``now`` for the latest start, default the
    clock) and :class:`ActivityFileError` for anything unreadable (all code ``TRIMP_001``).
    """
    parsed = _parse_unchecked(data, filename, max_bytes=max_bytes, max_samples=max_samples, start=start)
    check_bounds(parsed, now=now)
    return parsed


def _parse_unchecked(
    data: bytes, filename: str | None, *, max_bytes: int, max_samples: int, start: datetime | None
) -> ParsedActivity:
    check_size(data, max_bytes)
    if data.startswith(GZIP_MAGIC):
        data = _gunzip(data, max_bytes)
        check_size(data, max_bytes)
    source_format = detect_format(filename, data[:SNIFF_BYTES])
    if source_format == "fit":
        return parse_fit(data, max_samples=max_samples)
    if source_format == "tcx":
        return parse_tcx(data, max_samples=max_samples)
    if source_format == "gpx":
        return parse_gpx(data, max_samples=max_samples)
    return parse_json_stream(data, start=start, max_samples=max_samples)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    # Decompress at most max_bytes + 1 bytes so that a gzip bomb is stopped, not inflated.
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        unpacked = decompressor.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise ActivityFileError("malformed", f"gzip data is damaged: {exc}") from exc
    if len(unpacked) > max_bytes:
        message = f"file unpacks to more than {max_bytes} bytes"
        raise ActivityFileTooLarge("too_large", message, limit=max_bytes)
    if not decompressor.eof:
        raise ActivityFileError("malformed", "gzip data is truncated")
    if decompressor.unused_data:
        raise ActivityFileError("malformed", "unexpected data after the gzip stream")
    return unpacked

"""A tiny FIT encoder for tests: builds small, valid (or deliberately odd) FIT files byte by byte.

Only what the importer tests need: definition and data messages, compressed-timestamp headers, header and
file CRCs. Field numbers and base types follow Garmin's FIT profile.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)

# FIT base types: (code, struct format, size in bytes)
ENUM = (0x00, "B", 1)
UINT8 = (0x02, "B", 1)
UINT16 = (0x84, "H", 2)
UINT32 = (0x86, "I", 4)
UINT32Z = (0x8C, "I", 4)

_CRC_TABLE = (
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401,
    0xA001, 0x6C00, 0x7800, 0xB401, 0x5000, 0x9C01, 0x8801, 0x4400,
)  # fmt: skip


def fit_crc(data: bytes, crc: int = 0) -> int:
    """FIT's CRC-16 over ``data``."""
    for byte in data:
        tmp = _CRC_TABLE[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[byte & 0xF]
        tmp = _CRC_TABLE[crc & 0xF]
        crc = ((crc >> 4) & 0x0FFF) ^ tmp ^ _CRC_TABLE[(byte >> 4) & 0xF]
    return crc


def fit_time(value: datetime) -> int:
    """Seconds since the FIT epoch."""
    return int((value - FIT_EPOCH).total_seconds())


@dataclass
class FitBuilder:
    """Append definitions and messages, then :meth:`build` the file bytes."""

    body: bytearray = field(default_factory=bytearray)
    _definitions: dict[int, list[tuple[int, tuple[int, str, int]]]] = field(default_factory=dict)

    def define(self, local: int, global_num: int, fields: list[tuple[int, tuple[int, str, int]]]) -> None:
        """Definition message: ``fields`` are ``(field number, base type)``."""
        self.body += bytes([0x40 | local, 0, 0]) + struct.pack("<HB", global_num, len(fields))
        for number, (code, _, size) in fields:
            self.body += bytes([number, size, code])
        self._definitions[local] = fields

    def message(self, local: int, *values: int) -> None:
        """Data message with a normal header."""
        self.body += bytes([local]) + self._pack(local, values)

    def compressed(self, local: int, time_offset: int, *values: int) -> None:
        """Data message with a compressed-timestamp header (``local`` 0..3, ``time_offset`` 0..31 s)."""
        self.body += bytes([0x80 | (local << 5) | (time_offset & 0x1F)]) + self._pack(local, values)

    def _pack(self, local: int, values: tuple[int, ...]) -> bytes:
        fields = self._definitions[local]
        assert len(values) == len(fields)
        pairs = zip(values, fields, strict=True)
        return b"".join(struct.pack("<" + fmt, value) for value, (_, (_, fmt, _)) in pairs)

    def build(self) -> bytes:
        header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(self.body), b".FIT")
        header += struct.pack("<H", fit_crc(header))
        content = header + bytes(self.body)
        return content + struct.pack("<H", fit_crc(content))


def activity_fit(
    samples: list[tuple[int, int]],
    *,
    start: datetime,
    file_type: int = 4,
    serial: int = 12345,
    timer_ms: int | None = None,
    avg_hr: int | None = None,
    compressed_after_first: bool = False,
) -> bytes:
    """An activity file: file_id, records ``(seconds from start, hr)`` and one session.

    ``compressed_after_first`` writes every record after the first with a compressed-timestamp header.
    """
    t0 = fit_time(start)
    builder = FitBuilder()
    builder.define(0, 0, [(0, ENUM), (1, UINT16), (3, UINT32Z), (4, UINT32)])
    builder.message(0, file_type, 1, serial, t0)
    builder.define(1, 20, [(253, UINT32), (3, UINT8)])
    if compressed_after_first:
        builder.define(2, 20, [(3, UINT8)])
    for index, (offset, hr) in enumerate(samples):
        if compressed_after_first and index > 0:
            builder.compressed(2, (t0 + offset) & 0x1F, hr)
        else:
            builder.message(1, t0 + offset, hr)
    if timer_ms is not None or avg_hr is not None:
        builder.define(3, 18, [(253, UINT32), (2, UINT32), (5, ENUM), (7, UINT32), (8, UINT32), (16, UINT8)])
        last = samples[-1][0] if samples else 0
        timer = 0xFFFFFFFF if timer_ms is None else timer_ms  # all bits set: FIT's "invalid"
        builder.message(3, t0 + last, t0, 1, timer, timer, 0xFF if avg_hr is None else avg_hr)
    return builder.build()

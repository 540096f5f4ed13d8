"""Compact, exact binary encoding of a heart-rate stream (pure: numpy and zlib, no Django).

Layout: ``b"HRS"``, one format byte, the sample count (uint32, little-endian), then a zlib stream of the time
array followed by the HR array. The encoder picks the smallest representation that decodes to *exactly* the
same float64 values, so a stored activity scores exactly like the file it came from:

* times (seconds from the start): int32 millisecond deltas when every time is a whole number of milliseconds
  and round-trips exactly (every device file), else raw float64 (NaN kept);
* heart rates (bpm): uint8 with 255 for "missing" when every present value is a whole number 0..254 (every
  FIT/TCX/GPX file: their HR fields are bytes), else raw float64 (NaN for missing).

A 1 Hz hour is about 3 KB instead of 57 KB of float64 (deltas of 1,000 ms compress to almost nothing).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

MAGIC = b"HRS"
HEADER = struct.Struct("<3sBI")
TIME_MS_DELTA = 0x00
TIME_FLOAT64 = 0x01
HR_UINT8 = 0x00
HR_FLOAT64 = 0x10
HR_MISSING_U8 = 255
ZLIB_LEVEL = 6

FloatArray = npt.NDArray[np.float64]


class StreamFormatError(ValueError):
    """The stored bytes are not a stream this module wrote (damaged row)."""


def encode_stream(times: npt.ArrayLike, hrs: npt.ArrayLike) -> bytes:
    """Encode samples (``times`` s, ``hrs`` bpm, NaN = missing) of equal length; exact round trip."""
    t = np.ascontiguousarray(times, dtype=np.float64)
    h = np.ascontiguousarray(hrs, dtype=np.float64)
    if t.ndim != 1 or h.ndim != 1 or t.size != h.size:
        raise ValueError("times and hrs must be one-dimensional arrays of the same length")
    time_code, time_bytes = _encode_times(t)
    hr_code, hr_bytes = _encode_hrs(h)
    payload = zlib.compress(time_bytes + hr_bytes, ZLIB_LEVEL)
    return HEADER.pack(MAGIC, time_code | hr_code, t.size) + payload


def _encode_times(t: FloatArray) -> tuple[int, bytes]:
    if t.size and np.isfinite(t).all():
        ms = np.round(t * 1000.0)
        if np.abs(ms).max() < 2**31 and np.array_equal(ms / 1000.0, t):
            deltas = np.diff(ms, prepend=0.0)
            if np.abs(deltas).max() < 2**31:
                return TIME_MS_DELTA, deltas.astype("<i4").tobytes()
    return TIME_FLOAT64, t.astype("<f8").tobytes()


def _encode_hrs(h: FloatArray) -> tuple[int, bytes]:
    present = np.isfinite(h)
    values = h[present]
    if values.size == 0 or (values.min() >= 0 and values.max() < HR_MISSING_U8 and (values == np.floor(values)).all()):
        if not np.isnan(h[~present]).all():
            return HR_FLOAT64, h.astype("<f8").tobytes()  # +/-inf: keep them as they are
        packed = np.full(h.size, HR_MISSING_U8, dtype=np.uint8)
        packed[present] = values.astype(np.uint8)
        return HR_UINT8, packed.tobytes()
    return HR_FLOAT64, h.astype("<f8").tobytes()


def decode_stream(data: bytes | memoryview) -> tuple[FloatArray, FloatArray]:
    """Decode bytes written by :func:`encode_stream` into ``(times, hrs)`` float64 arrays."""
    raw = bytes(data) if isinstance(data, memoryview) else data
    if len(raw) < HEADER.size:
        raise StreamFormatError("stream data too short")
    magic, code, count = HEADER.unpack_from(raw)
    if magic != MAGIC:
        raise StreamFormatError("not an encoded heart-rate stream")
    try:
        payload = zlib.decompress(raw[HEADER.size :])
    except zlib.error as exc:
        raise StreamFormatError(f"stream data damaged: {exc}") from exc
    time_code, hr_code = code & 0x0F, code & 0xF0
    time_size = 4 * count if time_code == TIME_MS_DELTA else 8 * count
    hr_size = count if hr_code == HR_UINT8 else 8 * count
    if len(payload) != time_size + hr_size or time_code not in (0, 1) or hr_code not in (0, 0x10):
        raise StreamFormatError("stream data has the wrong length or format")
    if time_code == TIME_MS_DELTA:
        times = np.cumsum(np.frombuffer(payload, dtype="<i4", count=count), dtype=np.float64)
        times /= 1000.0
    else:
        times = np.frombuffer(payload, dtype="<f8", count=count).astype(np.float64)
    if hr_code == HR_UINT8:
        packed = np.frombuffer(payload, dtype=np.uint8, count=count, offset=time_size)
        hrs = packed.astype(np.float64)
        hrs[packed == HR_MISSING_U8] = np.nan
    else:
        hrs = np.frombuffer(payload, dtype="<f8", count=count, offset=time_size).astype(np.float64)
    return times, hrs


def downsample(times: FloatArray, hrs: FloatArray, max_points: int) -> tuple[FloatArray, FloatArray]:
    """At most ``max_points`` samples: consecutive samples are grouped into equal-count buckets; a bucket's time
    is its first sample's time and its HR the mean of its present HRs (NaN when it has none)."""
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    if times.size <= max_points:
        return times, hrs
    edges = np.linspace(0, times.size, max_points + 1).astype(np.int64)
    starts = edges[:-1]
    present = np.isfinite(hrs)
    sums = np.add.reduceat(np.where(present, hrs, 0.0), starts)
    counts = np.add.reduceat(present.astype(np.int64), starts)
    means = np.full(max_points, np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    return times[starts].astype(np.float64), means

"""Cleaning a heart-rate stream and the integration rule shared by every stream method.

Definitions (``docs/training-load.md``):

* samples without a timestamp (NaN/inf time) are dropped; samples are ordered by time and for equal
  timestamps the last one *in input order* wins (even when its HR is missing);
* a heart rate is valid iff ``25 <= hr <= 250`` bpm; invalid or missing HR samples are then removed;
* ``reference_seconds`` is the timer time when it is given and > 0, else ``t_last - t_first`` over all
  samples that have a timestamp, with or without HR;
* consecutive valid samples ``a, b`` form an interval with ``dt = t_b - t_a`` seconds, *credited* iff
  ``0 < dt <= max_gap_s``; its heart rate is the trapezoid mean ``h = (hr_a + hr_b) / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from training.engine.errors import HeartRateDataError

HR_MIN_VALID = 25.0
HR_MAX_VALID = 250.0
DEFAULT_MAX_GAP_S = 30.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class CleanStream:
    """A cleaned stream: ``times`` (s, strictly increasing) and ``hrs`` (bpm) of the valid samples only.

    ``sample_count`` counts the samples that had a timestamp (after removing duplicates),
    ``reference_seconds`` is the activity's reference duration in seconds.
    """

    times: FloatArray
    hrs: FloatArray
    sample_count: int
    reference_seconds: float

    @property
    def valid_samples(self) -> int:
        """Number of samples with a valid heart rate (the stored ``hr_stream_sample_count``)."""
        return int(self.times.size)


@dataclass(frozen=True, slots=True, eq=False)
class Intervals:
    """The intervals between consecutive valid samples: ``dt`` in seconds and trapezoid-mean ``h`` in bpm.

    ``dt`` is 0 for an interval that is not credited (a gap longer than ``max_gap_s``), so every time-weighted
    sum over ``dt`` is a sum over the credited intervals only; ``h`` of such an interval means nothing.
    (Zeroing is cheaper than compacting two arrays, and this is the hot path of every score.)
    """

    dt: FloatArray
    h: FloatArray

    @property
    def credited_seconds(self) -> float:
        """Sum of credited ``dt``, seconds."""
        return float(self.dt.sum())

    @property
    def count(self) -> int:
        """Number of credited intervals."""
        return int(np.count_nonzero(self.dt))


def _as_float_array(values: npt.ArrayLike, name: str) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise HeartRateDataError(f"{name} must be numbers (None/NaN for missing): {exc}") from exc
    if array.ndim != 1:
        raise HeartRateDataError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def clean_stream(
    times: npt.ArrayLike | None,
    hrs: npt.ArrayLike | None,
    *,
    timer_seconds: float | None = None,
) -> CleanStream:
    """Apply the cleaning rules to samples ``(times[i] s, hrs[i] bpm)``; NaN marks a missing value.

    ``times``/``hrs`` may be ``None`` (no stream at all). Raises :class:`HeartRateDataError` when the two
    arrays differ in length or hold something that is not a number.
    """
    t = _as_float_array([] if times is None else times, "times")
    h = _as_float_array([] if hrs is None else hrs, "hrs")
    if hrs is None:
        h = np.full(t.shape, np.nan)
    if t.size != h.size:
        raise HeartRateDataError(f"times and hrs differ in length ({t.size} != {h.size})")

    if not _finite_and_strictly_increasing(t):
        has_time = np.isfinite(t)
        t, h = t[has_time], h[has_time]
        if (t[1:] < t[:-1]).any():
            # Stable sort keeps input order among equal timestamps, so "last wins" below means last given.
            order = np.argsort(t, kind="stable")
            t, h = t[order], h[order]
        if (t[1:] == t[:-1]).any():
            keep = np.empty(t.size, dtype=bool)
            np.not_equal(t[:-1], t[1:], out=keep[:-1])
            keep[-1] = True
            t, h = t[keep], h[keep]

    sample_count = int(t.size)
    if timer_seconds is not None and math.isfinite(timer_seconds) and timer_seconds > 0:
        reference_seconds = float(timer_seconds)
    else:
        reference_seconds = float(t[-1] - t[0]) if t.size else 0.0

    valid = (h >= HR_MIN_VALID) & (h <= HR_MAX_VALID)  # NaN compares False: missing HR is invalid
    if not valid.all():
        t, h = t[valid], h[valid]
    return CleanStream(times=t, hrs=h, sample_count=sample_count, reference_seconds=reference_seconds)


def _finite_and_strictly_increasing(t: FloatArray) -> bool:
    # The common case (a device stream), checked in one pass: NaN makes min() NaN, and with strictly
    # increasing steps every time is finite once the first and the last are.
    if t.size < 2:
        return bool(np.isfinite(t).all())
    return bool(np.subtract(t[1:], t[:-1]).min() > 0) and math.isfinite(t[0]) and math.isfinite(t[-1])


def credited_intervals(stream: CleanStream, *, max_gap_s: float = DEFAULT_MAX_GAP_S) -> Intervals:
    """The intervals between consecutive valid samples; credited iff ``0 < dt <= max_gap_s`` seconds,
    the others carry ``dt = 0``."""
    if not (math.isfinite(max_gap_s) and max_gap_s > 0):
        raise ValueError(f"max_gap_s must be a positive number of seconds, got {max_gap_s!r}")
    t, hr = stream.times, stream.hrs
    if t.size < 2:
        empty = np.empty(0, dtype=np.float64)
        return Intervals(dt=empty, h=empty)
    dt = np.subtract(t[1:], t[:-1])
    h = np.add(hr[:-1], hr[1:])
    h *= 0.5
    # dt > 0 always holds here: the stream is strictly increasing after cleaning.
    if dt.size and dt.max() > max_gap_s:
        dt[dt > max_gap_s] = 0.0
    return Intervals(dt=dt, h=h)


def time_weighted_mean_hr(intervals: Intervals) -> float | None:
    """Time-weighted mean of ``h`` over the credited intervals (bpm), ``None`` when nothing is credited."""
    total = intervals.credited_seconds
    if total <= 0:
        return None
    return float(np.dot(intervals.dt, intervals.h) / total)

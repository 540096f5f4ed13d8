"""TRIMP: Banister (stream and average-HR), Edwards and Lucia, and the ``auto`` method choice.

Every definition follows ``docs/training-load.md`` exactly; the pieces are public so that the Django service
and the tests can use them one by one, and :func:`score` puts them together.

Units: times and durations in seconds, heart rates in beats per minute, TRIMP in "TRIMP points"
(weighted minutes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from training.engine.errors import MISSING_HR_CONFIG, HeartRateConfigError, HeartRateDataError
from training.engine.profile import HRProfile, Sex, require_profile
from training.engine.stream import (
    DEFAULT_MAX_GAP_S,
    HR_MAX_VALID,
    HR_MIN_VALID,
    FloatArray,
    Intervals,
    clean_stream,
    credited_intervals,
    time_weighted_mean_hr,
)

# Bump whenever a definition or constant below changes: stored results record it, so a recalculation
# can say what changed and why.
ENGINE_VERSION = "1.0.0"

Method = Literal["auto", "stream", "average_hr", "edwards", "lucia"]
ResultMethod = Literal["stream", "average_hr", "edwards", "lucia"]
METHODS: tuple[Method, ...] = ("auto", "stream", "average_hr", "edwards", "lucia")

# Fallback reasons recorded when "auto" does not use the stream.
REASON_STREAM_MISSING = "stream_missing"
REASON_STREAM_TOO_SHORT = "stream_too_short"
REASON_STREAM_COVERAGE_LOW = "stream_coverage_low"

MIN_CREDITED_SECONDS = 60.0
MIN_COVERAGE = 0.5

# Banister's published constants: w(x) = A * exp(B * x).
BANISTER_MALE = (0.64, 1.92)
BANISTER_FEMALE = (0.86, 1.67)

# Edwards' zones: factor 1 from 5/10 of max HR, one more per tenth, at most 5 (from 9/10).
EDWARDS_FIRST_ZONE_TENTHS = 5.0
EDWARDS_MAX_FACTOR = 5.0


@dataclass(frozen=True, slots=True)
class TrimpResult:
    """The outcome of :func:`score`.

    * ``trimp``: the chosen method's TRIMP (points); ``method`` says which one; ``reason`` why ``auto`` fell
      back to the average-HR method (``stream_missing`` | ``stream_too_short`` | ``stream_coverage_low``),
      ``None`` when no fallback happened (including an explicitly requested method);
    * ``valid_samples``: samples with a valid HR (``hr_stream_sample_count``); ``sample_count``: samples with
      a timestamp; ``credited_seconds``/``reference_seconds`` in seconds;
    * ``average_hr`` (bpm): session average, else stored average, else the stream's time-weighted mean,
      ``None`` when none exists; ``stream_trimp``: Banister stream TRIMP whenever an interval is credited
      (also when the average-HR method was chosen), else ``None``;
    * ``edwards``/``lucia``: the zonal TRIMPs, ``None`` when not computable (no credited interval; Lucia
      also without VT1/VT2, when ``lucia_error`` is ``"TRIMP_002"``);
    * ``seconds_above_max``: credited seconds whose ``h`` exceeds the profile's max HR;
    * ``warnings``: human-readable notes, each starting with a stable key (``time_above_max_hr:``,
      ``average_hr_above_max:``).
    """

    trimp: float
    method: ResultMethod
    reason: str | None
    valid_samples: int
    sample_count: int
    credited_seconds: float
    reference_seconds: float
    average_hr: float | None
    stream_trimp: float | None
    edwards: float | None
    lucia: float | None
    lucia_error: str | None
    seconds_above_max: float
    warnings: tuple[str, ...]
    engine_version: str = ENGINE_VERSION


def banister_intensity(h: npt.ArrayLike, profile: HRProfile) -> FloatArray:
    """``x = max(0, (h - rest) / (max - rest))`` for heart rates ``h`` (bpm); no upper clamp."""
    values = np.asarray(h, dtype=np.float64)
    span = profile.max - profile.rest
    x = np.subtract(values, profile.rest, out=np.empty_like(values))  # a fresh array, also for a scalar
    x /= span
    return np.maximum(x, 0.0, out=x)


def banister_weight(x: npt.ArrayLike, sex: Sex) -> FloatArray:
    """Banister's weighting ``w(x)``: male ``0.64 e^(1.92x)``, female ``0.86 e^(1.67x)``, unspecified the
    mean of the two."""
    x = np.asarray(x, dtype=np.float64)
    if sex == "male":
        return _exponential(x, *BANISTER_MALE)
    if sex == "female":
        return _exponential(x, *BANISTER_FEMALE)
    mean = _exponential(x, *BANISTER_MALE)
    mean += _exponential(x, *BANISTER_FEMALE)
    mean *= 0.5
    return mean


def _exponential(x: FloatArray, factor: float, rate: float) -> FloatArray:
    # factor * exp(rate * x), computed in one buffer (this is the hot loop of every stream score).
    y = np.multiply(x, rate, out=np.empty_like(x))
    np.exp(y, out=y)
    y *= factor
    return y


def stream_trimp(intervals: Intervals, profile: HRProfile) -> float:
    """Stream ("enhanced") Banister TRIMP: ``sum over credited intervals of (dt / 60) * x * w(x)``."""
    if intervals.dt.size == 0:
        return 0.0
    x = banister_intensity(intervals.h, profile)
    if profile.sex == "unspecified":
        weighted = banister_weight(x, profile.sex)
        weighted *= x
        return float(np.dot(intervals.dt, weighted) / 60.0)
    # One sex: fold the curve's constant factor into the final scalar (one pass fewer on the hot path).
    factor, rate = BANISTER_MALE if profile.sex == "male" else BANISTER_FEMALE
    weighted = np.multiply(x, rate)
    np.exp(weighted, out=weighted)
    weighted *= x
    return float(np.dot(intervals.dt, weighted) * (factor / 60.0))


def average_hr_trimp(average_hr: float, duration_s: float, profile: HRProfile) -> float:
    """Average-HR Banister TRIMP: ``(duration_s / 60) * x * w(x)`` with ``x`` from ``average_hr`` (bpm)."""
    x = banister_intensity(average_hr, profile)
    return float(duration_s / 60.0 * x * banister_weight(x, profile.sex))


def edwards_trimp(intervals: Intervals, max_hr: float) -> float:
    """Edwards: factor 0..5 by ``h / max`` (edges 0.5, 0.6, 0.7, 0.8, 0.9, each lower edge inclusive);
    TRIMP = ``sum factor * dt / 60``."""
    if intervals.dt.size == 0:
        return 0.0
    # floor(10 h / max) is exact at the zone edges: for the integer and half-integer HRs that streams carry,
    # 10 h and max are exact and IEEE division is correctly rounded, so 10 h == k max gives exactly k.
    factor = np.multiply(intervals.h, 10.0)
    factor /= max_hr
    np.floor(factor, out=factor)
    factor -= EDWARDS_FIRST_ZONE_TENTHS - 1
    np.maximum(factor, 0.0, out=factor)
    np.minimum(factor, EDWARDS_MAX_FACTOR, out=factor)
    return float(np.dot(factor, intervals.dt) / 60.0)


def lucia_trimp(intervals: Intervals, vt1: float, vt2: float) -> float:
    """Lucia: factor 1 below VT1, 2 in ``[VT1, VT2)``, 3 at or above VT2 (bpm); ``sum f * dt / 60``."""
    if intervals.dt.size == 0:
        return 0.0
    factor = np.searchsorted(np.array([vt1, vt2], dtype=np.float64), intervals.h, side="right") + 1
    return float(np.dot(factor, intervals.dt) / 60.0)


def seconds_above_max(intervals: Intervals, max_hr: float) -> float:
    """Credited seconds whose trapezoid-mean HR is above ``max_hr`` (bpm)."""
    above = intervals.h > max_hr
    if not above.any():
        return 0.0
    return float(intervals.dt[above].sum())


def stream_fallback_reason(
    valid_samples: int,
    credited_seconds: float,
    reference_seconds: float,
) -> str | None:
    """Why ``auto`` cannot use the stream, or ``None`` when it can.

    The stream is used iff ``credited_seconds >= 60`` and ``credited_seconds >= 0.5 * reference_seconds``.
    Reasons: ``stream_missing`` (no valid HR sample), ``stream_too_short`` (under 60 credited seconds),
    ``stream_coverage_low`` (under half of the reference duration credited).
    """
    if valid_samples == 0:
        return REASON_STREAM_MISSING
    if credited_seconds < MIN_CREDITED_SECONDS:
        return REASON_STREAM_TOO_SHORT
    if credited_seconds < MIN_COVERAGE * reference_seconds:
        return REASON_STREAM_COVERAGE_LOW
    return None


def _usable_average(value: float | None) -> float | None:
    # An average outside the valid-sample range is treated like a missing one (a corrupt summary field).
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    if not math.isfinite(value) or not HR_MIN_VALID <= value <= HR_MAX_VALID:
        return None
    return value


def choose_average_hr(
    session_avg_hr: float | None,
    stored_avg_hr: float | None,
    intervals: Intervals,
) -> float | None:
    """The average HR (bpm) for the average-HR method: FIT session average, else the activity's stored
    average, else the time-weighted mean of ``h`` over credited intervals; ``None`` when none exists.
    Given averages outside 25..250 bpm are ignored like invalid samples."""
    for candidate in (session_avg_hr, stored_avg_hr):
        usable = _usable_average(candidate)
        if usable is not None:
            return usable
    return time_weighted_mean_hr(intervals)


def score(
    times: npt.ArrayLike | None,
    hrs: npt.ArrayLike | None,
    profile: HRProfile | None,
    *,
    method: Method = "auto",
    timer_seconds: float | None = None,
    session_avg_hr: float | None = None,
    stored_avg_hr: float | None = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> TrimpResult:
    """Score one activity from its HR stream (``times`` s, ``hrs`` bpm, NaN for missing) and summary.

    ``method``: ``auto`` (stream if usable, else average HR with a reason), ``stream``, ``average_hr``
    (the original method, e.g. when the rollout flag is off), ``edwards`` or ``lucia`` (the zonal value
    becomes ``trimp``). Raises :class:`HeartRateConfigError` (``TRIMP_002``) without a profile, or for
    ``lucia`` without VT1/VT2; :class:`HeartRateDataError` (``TRIMP_001``) when the chosen method has no
    data (no credited interval for the stream/zonal methods; no average HR or no duration for average HR).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    profile = require_profile(profile)
    if method == "lucia" and not profile.has_ventilatory_thresholds:
        raise HeartRateConfigError("Lucia's TRIMP needs VT1 and VT2 in the heart-rate profile")

    stream = clean_stream(times, hrs, timer_seconds=timer_seconds)
    intervals = credited_intervals(stream, max_gap_s=max_gap_s)
    credited = intervals.credited_seconds
    has_intervals = intervals.count > 0
    average_hr = choose_average_hr(session_avg_hr, stored_avg_hr, intervals)
    warnings: list[str] = []

    above_max = seconds_above_max(intervals, profile.max)
    if above_max > 0:
        warnings.append(
            f"time_above_max_hr: {above_max:.0f} s above the profile's max HR ({profile.max:g} bpm);"
            " the profile's max HR is probably too low"
        )
    banister_stream = stream_trimp(intervals, profile) if has_intervals else None
    edwards = edwards_trimp(intervals, profile.max) if has_intervals else None
    lucia: float | None = None
    lucia_error: str | None = None
    if profile.vt1 is None or profile.vt2 is None:
        lucia_error = MISSING_HR_CONFIG
    elif has_intervals:
        lucia = lucia_trimp(intervals, profile.vt1, profile.vt2)

    reason: str | None = None
    chosen: ResultMethod
    if method == "auto":
        reason = stream_fallback_reason(stream.valid_samples, credited, stream.reference_seconds)
        chosen = "stream" if reason is None else "average_hr"
    else:
        chosen = method

    if chosen in ("stream", "edwards", "lucia"):
        if not has_intervals:
            raise HeartRateDataError(f"no credited heart-rate interval for the {chosen} method")
        values = {"stream": banister_stream, "edwards": edwards, "lucia": lucia}
        trimp = float(values[chosen] or 0.0)  # not None: has_intervals, and lucia has its VTs here
    else:
        if average_hr is None:
            detail = f" ({reason})" if reason else ""
            raise HeartRateDataError(f"neither a usable heart-rate stream{detail} nor an average heart rate")
        if stream.reference_seconds <= 0:
            raise HeartRateDataError("average-HR method needs a duration: no timer time and no time span")
        if average_hr > profile.max:
            warnings.append(
                f"average_hr_above_max: average HR {average_hr:.0f} bpm is above the profile's max HR"
                f" ({profile.max:g} bpm)"
            )
        trimp = average_hr_trimp(average_hr, stream.reference_seconds, profile)

    if not math.isfinite(trimp):  # refuse rather than store a value that poisons every later load
        raise HeartRateDataError(f"the {chosen} TRIMP is not a finite number; the recording is out of range")
    return TrimpResult(
        trimp=trimp,
        method=chosen,
        reason=reason,
        valid_samples=stream.valid_samples,
        sample_count=stream.sample_count,
        credited_seconds=credited,
        reference_seconds=stream.reference_seconds,
        average_hr=average_hr,
        stream_trimp=banister_stream,
        edwards=edwards,
        lucia=lucia,
        lucia_error=lucia_error,
        seconds_above_max=above_max,
        warnings=tuple(warnings),
    )

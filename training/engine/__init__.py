"""The training engine: pure, vectorised TRIMP and PMC maths (no Django imports).

Public face for the Django service; see ``docs/training-load.md`` for the definitions.
"""

from __future__ import annotations

from training.engine.errors import (
    CALCULATION_TIMEOUT,
    DATABASE_ERROR,
    FEATURE_FLAG_ERROR,
    INVALID_HR_DATA,
    MISSING_HR_CONFIG,
    HeartRateConfigError,
    HeartRateDataError,
    TrimpError,
)
from training.engine.pmc import PMCSeries, compute_pmc, decay_factor, exponential_load, foster_monotony
from training.engine.profile import HRProfile, Sex, require_profile
from training.engine.stream import (
    DEFAULT_MAX_GAP_S,
    CleanStream,
    Intervals,
    clean_stream,
    credited_intervals,
    time_weighted_mean_hr,
)
from training.engine.trimp import (
    ENGINE_VERSION,
    REASON_STREAM_COVERAGE_LOW,
    REASON_STREAM_MISSING,
    REASON_STREAM_TOO_SHORT,
    Method,
    TrimpResult,
    average_hr_trimp,
    banister_intensity,
    banister_weight,
    choose_average_hr,
    edwards_trimp,
    lucia_trimp,
    score,
    seconds_above_max,
    stream_fallback_reason,
    stream_trimp,
)

__all__ = [
    "CALCULATION_TIMEOUT",
    "DATABASE_ERROR",
    "DEFAULT_MAX_GAP_S",
    "ENGINE_VERSION",
    "FEATURE_FLAG_ERROR",
    "INVALID_HR_DATA",
    "MISSING_HR_CONFIG",
    "REASON_STREAM_COVERAGE_LOW",
    "REASON_STREAM_MISSING",
    "REASON_STREAM_TOO_SHORT",
    "CleanStream",
    "HRProfile",
    "HeartRateConfigError",
    "HeartRateDataError",
    "Intervals",
    "Method",
    "PMCSeries",
    "Sex",
    "TrimpError",
    "TrimpResult",
    "average_hr_trimp",
    "banister_intensity",
    "banister_weight",
    "choose_average_hr",
    "clean_stream",
    "compute_pmc",
    "credited_intervals",
    "decay_factor",
    "edwards_trimp",
    "exponential_load",
    "foster_monotony",
    "lucia_trimp",
    "require_profile",
    "score",
    "seconds_above_max",
    "stream_fallback_reason",
    "stream_trimp",
    "time_weighted_mean_hr",
]

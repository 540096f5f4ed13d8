"""Scoring one activity: the profile of its day, the athlete's method (the rollout flag), the engine, metrics.

Shared by the import service, the historical recalculation and the comparison report, so every path scores
an activity the same way. Nothing here writes to the database.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy.typing as npt

from rollout import flags
from rollout.monitoring import increment, record
from training.engine import (
    FEATURE_FLAG_ERROR,
    MISSING_HR_CONFIG,
    HeartRateConfigError,
    HRProfile,
    TrimpError,
    TrimpResult,
    score,
)
from training.models import HeartRateProfile

logger = logging.getLogger(__name__)

FLAG_NAME = "enhanced_trimp_calculation"
REASON_STREAM_OK = "stream_ok"
REASON_FLAG_OFF = "flag_off"
REASON_FLAG_ERROR = "flag_error"
REASON_NO_PROFILE = "no_profile"
WARNING_PROFILE_BACKFILLED = "profile_backfilled"


@dataclass(frozen=True, slots=True)
class DatedProfile:
    """A stored profile as the engine needs it; ``engine`` is None when the stored values are invalid.
    ``backfilled``: the athlete's first profile used for a day before it starts."""

    id: int
    effective_from: date
    engine: HRProfile | None
    error: str = ""
    backfilled: bool = False


class ProfileBook:
    """Every profile of some athletes, to find the one valid on a day without a query per activity."""

    def __init__(self, rows: Iterable[HeartRateProfile]) -> None:
        self._by_athlete: dict[int, list[DatedProfile]] = {}
        for row in rows:
            try:
                engine: HRProfile | None = HRProfile(**row.as_engine_kwargs())
                error = ""
            except HeartRateConfigError as exc:
                engine, error = None, exc.message
            self._by_athlete.setdefault(row.athlete_id, []).append(
                DatedProfile(id=row.pk, effective_from=row.effective_from, engine=engine, error=error)
            )
        self._days: dict[int, list[date]] = {}
        for athlete_id, profiles in self._by_athlete.items():
            profiles.sort(key=lambda p: p.effective_from)
            self._days[athlete_id] = [p.effective_from for p in profiles]

    @classmethod
    def for_athletes(cls, athlete_ids: Iterable[int]) -> ProfileBook:
        """Load the profiles of ``athlete_ids`` in one query."""
        return cls(HeartRateProfile.objects.filter(athlete_id__in=set(athlete_ids)))

    def valid_on(self, athlete_id: int, day: date) -> DatedProfile | None:
        """The profile with the latest ``effective_from`` on or before ``day``; for a day before the athlete's
        first profile, that first profile marked ``backfilled`` (an athlete's rest and max HR change slowly, and
        a score from the nearest profile beats no score — the activity says which it was); None without any."""
        days = self._days.get(athlete_id)
        if not days:
            return None
        index = bisect.bisect_right(days, day) - 1
        if index < 0:
            return dataclasses.replace(self._by_athlete[athlete_id][0], backfilled=True)
        return self._by_athlete[athlete_id][index]


@dataclass(frozen=True, slots=True)
class MethodChoice:
    """Whether the athlete gets the stream ("enhanced") method, and why not when they do not."""

    enhanced: bool
    reason: str  # "" when enhanced, else flag_off | flag_error
    flag_reason: str = ""


def athlete_method(athlete_id: int) -> MethodChoice:
    """The rollout flag's answer for the athlete. A failed evaluation — an exception, or a flag that is not
    defined at all — means the original (average-HR) method, and is logged with ``TRIMP_005``."""
    try:
        enabled, why = flags.evaluate(FLAG_NAME, user_id=athlete_id)
    except Exception:
        logger.exception("%s: flag %s could not be evaluated for athlete %s", FEATURE_FLAG_ERROR, FLAG_NAME, athlete_id)
        return MethodChoice(enhanced=False, reason=REASON_FLAG_ERROR, flag_reason="exception")
    if why == "missing":
        logger.error(
            "%s: flag %s is not defined; athlete %s gets the average-HR method",
            FEATURE_FLAG_ERROR,
            FLAG_NAME,
            athlete_id,
        )
        return MethodChoice(enhanced=False, reason=REASON_FLAG_ERROR, flag_reason=why)
    return MethodChoice(enhanced=enabled, reason="" if enabled else REASON_FLAG_OFF, flag_reason=why)


@dataclass(frozen=True, slots=True)
class Scored:
    """What scoring stores on an activity (``trimp`` None with an ``error_code`` when it could not score)."""

    trimp: float | None
    method: str
    reason: str
    valid_samples: int | None
    credited_seconds: float | None
    profile_id: int | None
    engine_version: str
    warnings: list[str]
    error_code: str
    error: str
    details: dict[str, Any] = field(default_factory=dict)
    calculation_ms: float | None = None
    profile_backfilled: bool = False

    def comparable(self) -> tuple[Any, ...]:
        """The stored values that decide whether a re-score changed anything (not the time it took)."""
        return (
            self.trimp,
            self.method,
            self.reason,
            self.valid_samples,
            self.credited_seconds,
            self.profile_id,
            self.engine_version,
            self.warnings,
            self.error_code,
            self.error,
            self.details,
            self.profile_backfilled,
        )


def _details(result: TrimpResult) -> dict[str, Any]:
    return {
        "stream_trimp": result.stream_trimp,
        "average_hr_used": result.average_hr,
        "edwards": result.edwards,
        "lucia": result.lucia,
        "lucia_error": result.lucia_error,
        "reference_seconds": result.reference_seconds,
        "sample_count": result.sample_count,
        "seconds_above_max": result.seconds_above_max,
    }


def score_activity(
    *,
    times: npt.ArrayLike | None,
    hrs: npt.ArrayLike | None,
    timer_seconds: float | None,
    average_hr: float | None,
    profile: DatedProfile | None,
    choice: MethodChoice,
    max_gap_s: float,
    record_metrics: bool = True,
) -> Scored:
    """Score with the athlete's method; failures become a ``Scored`` with an error code, never an exception.

    Metrics (when ``record_metrics``): ``trimp.calculations`` (method, outcome) per attempt and
    ``trimp.calculation_ms`` (method) per calculation. A missing profile is not an attempt of the method.
    """
    if profile is None or profile.engine is None:
        message = "no heart-rate profile for the activity's date" if profile is None else profile.error
        return Scored(
            trimp=None,
            method="",
            reason=REASON_NO_PROFILE,
            valid_samples=None,
            credited_seconds=None,
            profile_id=profile.id if profile is not None else None,
            engine_version="",
            warnings=[],
            error_code=MISSING_HR_CONFIG,
            error=message[:255],
        )
    warnings: list[str] = []
    if profile.backfilled:
        warnings.append(
            f"{WARNING_PROFILE_BACKFILLED}: scored with the first heart-rate profile (from "
            f"{profile.effective_from.isoformat()}), which starts after this activity"
        )
    if choice.reason == REASON_FLAG_ERROR:
        warnings.append(f"flag_error: {FEATURE_FLAG_ERROR} the rollout flag could not be evaluated; original method")
    started = time.perf_counter()
    try:
        result = score(
            times,
            hrs,
            profile.engine,
            method="auto" if choice.enhanced else "average_hr",
            timer_seconds=timer_seconds,
            session_avg_hr=average_hr,
            max_gap_s=max_gap_s,
        )
    except TrimpError as exc:
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        failed = Scored(
            trimp=None,
            method="",
            reason=choice.reason,
            valid_samples=None,
            credited_seconds=None,
            profile_id=profile.id,
            engine_version="",
            warnings=warnings,
            error_code=exc.code,
            error=exc.message[:255],
            calculation_ms=elapsed_ms,
            profile_backfilled=profile.backfilled,
        )
        if record_metrics:
            score_metrics_record(failed, choice)
        return failed
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    reason = REASON_STREAM_OK if result.method == "stream" else (result.reason or choice.reason)
    scored = Scored(
        trimp=result.trimp,
        method=result.method,
        reason=reason,
        valid_samples=result.valid_samples,
        credited_seconds=result.credited_seconds,
        profile_id=profile.id,
        engine_version=result.engine_version,
        warnings=[*warnings, *result.warnings],
        error_code="",
        error="",
        details=_details(result),
        calculation_ms=elapsed_ms,
        profile_backfilled=profile.backfilled,
    )
    if record_metrics:
        score_metrics_record(scored, choice)
    return scored


def score_metrics_record(scored: Scored, choice: MethodChoice) -> None:
    """Record one calculation's metrics: ``trimp.calculations`` (method, outcome) and ``trimp.calculation_ms``
    (method). A result without a calculation (no profile) records nothing; a failure counts under the method
    that was attempted."""
    if scored.calculation_ms is None:
        return
    # ``flag``: made under the rollout flag for a user it is on for (the guards' min-samples gates count these)
    exposure = {"flag": FLAG_NAME} if choice.enhanced else {}
    if scored.error_code:
        method = "stream" if choice.enhanced else "average_hr"
        increment("trimp.calculations", method=method, outcome="failure", **exposure)
    else:
        method = scored.method
        increment("trimp.calculations", method=method, outcome="success", **exposure)
    record("trimp.calculation_ms", scored.calculation_ms, method=method, **exposure)

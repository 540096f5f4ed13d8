"""Writes of the training app: importing and deleting activities, heart-rate profiles, ops settings.

Every function takes keyword-only arguments, runs inside one transaction and raises ``core.errors``
exceptions (with the ``TRIMP_00x`` codes where the definitions give one), so nothing is ever half-written.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from core.errors import ConflictError, ServiceError
from core.models import Job, User
from training.bulk import SCORE_FIELDS, apply_to_instance
from training.config import EDITABLE_FIELDS, SCORING_FIELDS, current_settings, settings_dict
from training.engine import (
    DATABASE_ERROR,
    INVALID_HR_DATA,
    HeartRateConfigError,
    HeartRateDataError,
    HRProfile,
    clean_stream,
    credited_intervals,
    score,
    time_weighted_mean_hr,
)
from training.importers import ActivityFileError, ActivityFileTooLarge, parse
from training.loads import daily_loads_rebuild
from training.models import Activity, ActivityStream, HeartRateProfile, TrimpSettings, TrimpSettingsChange
from training.recalculation import recalculation_start
from training.scoring import MethodChoice, ProfileBook, Scored, athlete_method, score_activity, score_metrics_record
from training.streams import encode_stream

logger = logging.getLogger(__name__)

# Only used to ask "can this data give a TRIMP at all?" before an athlete's own profile exists.
PLACEHOLDER_PROFILE = HRProfile(rest=60.0, max=190.0, sex="unspecified")
MAX_SPORT_LENGTH = 32


@dataclass(frozen=True)
class Notice:
    """Something the uploader should know about a stored activity (``code`` is stable, ``message`` for people)."""

    code: str
    message: str


NO_HR_PROFILE = "no_hr_profile"
PROFILE_BACKFILLED = "profile_backfilled"
DUPLICATE_ACTIVITY = "duplicate_activity"


@dataclass(frozen=True)
class ImportResult:
    activity: Activity
    created: bool
    notices: tuple[Notice, ...] = ()


def import_notices(activity: Activity) -> tuple[Notice, ...]:
    """What the upload answer tells the athlete beyond the score: no profile at all, or a backfilled one."""
    if activity.trimp_error_code and activity.hr_profile_id is None:
        return (
            Notice(
                NO_HR_PROFILE,
                "The activity is stored but has no TRIMP: the athlete has no heart-rate profile. Add one with "
                f"POST /api/v1/athletes/{activity.athlete_id}/hr-profiles; every activity it covers is scored then.",
            ),
        )
    if activity.hr_profile_backfilled:
        first = activity.hr_profile.effective_from.isoformat() if activity.hr_profile else "?"
        return (
            Notice(
                PROFILE_BACKFILLED,
                f"Scored with the athlete's first heart-rate profile (from {first}), which starts after this "
                "activity; add a profile dated on or before the activity for an exact score.",
            ),
        )
    return ()


def stream_average_hr(times: np.ndarray, hrs: np.ndarray, *, timer: float | None, max_gap_s: float) -> float | None:
    """The time-weighted mean HR (bpm) over the stream's credited intervals — the value the average-HR method
    falls back to — or None when the stream has none (display only; never fed back into scoring)."""
    try:
        intervals = credited_intervals(clean_stream(times, hrs, timer_seconds=timer), max_gap_s=max_gap_s)
    except HeartRateDataError:
        return None
    return time_weighted_mean_hr(intervals)


def _activity_end(start: datetime, *seconds: float | None) -> datetime:
    longest = max((value for value in seconds if value is not None and math.isfinite(value)), default=0.0)
    return start + timedelta(seconds=longest)


def duplicate_of(*, athlete: User, start: datetime, end: datetime, tolerance_s: int) -> Activity | None:
    """The athlete's activity that is the same session: its start within ``tolerance_s`` seconds of ``start``
    and its time range overlapping ``[start, end]`` (the same ride exported as FIT, TCX and GPX). None when
    ``tolerance_s`` is 0 (check off)."""
    if tolerance_s <= 0:
        return None
    window = timedelta(seconds=tolerance_s)
    candidates = Activity.objects.filter(athlete=athlete, start__gte=start - window, start__lte=start + window)
    for candidate in candidates.order_by("start", "id"):
        candidate_end = _activity_end(candidate.start, candidate.elapsed_seconds, candidate.timer_seconds)
        if candidate.start <= end and start <= candidate_end:
            return candidate
    return None


def _duplicate_error(existing: Activity, start: datetime) -> ConflictError:
    return ConflictError(
        DUPLICATE_ACTIVITY,
        f"This session is already stored as activity {existing.pk} ({existing.get_source_display()}, "
        f"{existing.filename or existing.external_id}); it was not imported again. Delete that activity first "
        "to replace it with this file.",
        details={
            "existing_activity": {
                "id": existing.pk,
                "source": existing.source,
                "filename": existing.filename,
                "start": existing.start.isoformat(),
                "trimp": existing.trimp,
            },
            "start_difference_s": abs((start - existing.start).total_seconds()),
        },
    )


def file_error(exc: ActivityFileError) -> ServiceError:
    """The API's answer to an unreadable file: 400 (413 over a limit), code ``TRIMP_001`` and the reason."""
    details: dict[str, Any] = {"reason": exc.reason}
    if getattr(exc, "field", None):  # ActivityOutOfRange names the offending field
        details["field"] = exc.field  # type: ignore[attr-defined]
    if isinstance(exc, ActivityFileTooLarge):
        details["limit"] = exc.limit
        return ServiceError(exc.code, exc.message, details=details, status=413)
    return ServiceError(exc.code, exc.message, details=details, status=400)


def local_day(moment: datetime, zone_name: str) -> date:
    """The calendar day of ``moment`` in the IANA zone ``zone_name`` (UTC when the name is unknown)."""
    try:
        zone = ZoneInfo(zone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


def _optional_positive(value: float | None, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ServiceError("validation_error", f"{name} must be a positive number.")
    return float(value)


def _unusable(message: str) -> ServiceError:
    return ServiceError(
        INVALID_HR_DATA, f"no usable heart rate: {message}", details={"reason": "no_heart_rate"}, status=400
    )


def _score_upload(
    *, athlete: User, day: date, times: np.ndarray, hrs: np.ndarray, timer: float | None, average_hr: float | None
) -> tuple[Scored, MethodChoice]:
    """Score an upload once, before anything is stored, with the athlete's method and the profile of its day.

    Data that cannot give a TRIMP is refused (400 ``TRIMP_001``, no metric: nothing was calculated for an
    activity; the caller records the metrics once the activity is stored). Without a profile there is no score
    to compute: the data is only checked against a placeholder profile, and the activity is stored with
    ``TRIMP_002`` until a profile covers its day.
    """
    max_gap_s = current_settings().max_gap_s
    profile = ProfileBook.for_athletes([athlete.pk]).valid_on(athlete.pk, day)
    choice = athlete_method(athlete.pk)
    if profile is None or profile.engine is None:
        try:
            score(times, hrs, PLACEHOLDER_PROFILE, timer_seconds=timer, session_avg_hr=average_hr, max_gap_s=max_gap_s)
        except HeartRateDataError as exc:
            raise _unusable(exc.message) from exc
    scored = score_activity(
        times=times,
        hrs=hrs,
        timer_seconds=timer,
        average_hr=average_hr,
        profile=profile,
        choice=choice,
        max_gap_s=max_gap_s,
        record_metrics=False,
    )
    if scored.error_code == INVALID_HR_DATA:
        raise _unusable(scored.error)
    return scored, choice


def activity_import(
    *,
    actor: User | None,
    athlete: User,
    data: bytes,
    filename: str | None = None,
    start: datetime | None = None,
    sport: str | None = None,
    average_hr: float | None = None,
    timer_seconds: float | None = None,
    external_id: str | None = None,
) -> ImportResult:
    """Import one file (FIT, TCX, GPX, JSON streams; gzip allowed) for ``athlete`` and score it.

    The same file twice gives the same activity (``created`` False). The same session from another file
    (another format, or another id) — start within the ``duplicate_start_tolerance_s`` setting and an
    overlapping time range — is refused: ``ConflictError`` ``duplicate_activity`` (409) naming the stored one.
    ``start`` dates a JSON stream; ``sport``, ``average_hr`` (bpm), ``timer_seconds`` and ``external_id`` fill
    in what a JSON stream does not carry. Raises ``ServiceError`` ``TRIMP_001`` (400, 413 over a limit) for
    unreadable data or data without any usable heart rate, ``TRIMP_004`` (503) when storing fails; nothing is
    stored then. ``notices`` tell the uploader about a missing or backfilled heart-rate profile.
    """
    settings = current_settings()
    try:
        parsed = parse(
            data, filename, max_bytes=settings.max_upload_bytes, max_samples=settings.max_samples, start=start
        )
    except ActivityFileError as exc:
        raise file_error(exc) from exc
    if parsed.start is None:
        raise ServiceError("validation_error", "start is required for a JSON stream (the activity's start time).")
    average_hr = parsed.session_avg_hr if parsed.session_avg_hr is not None else average_hr
    average_hr = _optional_positive(average_hr, "average_hr")
    timer = parsed.timer_seconds if parsed.timer_seconds is not None else _optional_positive(timer_seconds, "timer")
    stamped = np.isfinite(parsed.times)  # samples without a timestamp carry nothing for any method
    times, hrs = parsed.times[stamped], parsed.hrs[stamped]
    day = local_day(parsed.start, athlete.timezone)
    scored, choice = _score_upload(athlete=athlete, day=day, times=times, hrs=hrs, timer=timer, average_hr=average_hr)
    key = (external_id or parsed.external_id)[:200]
    last_sample = float(times.max()) if times.size else None
    end = _activity_end(parsed.start, parsed.elapsed_seconds, timer, last_sample)
    try:
        with transaction.atomic():
            existing = Activity.objects.filter(athlete=athlete, source=parsed.source_format, external_id=key).first()
            if existing is not None:
                return ImportResult(activity=existing, created=False, notices=import_notices(existing))
            same_session = duplicate_of(
                athlete=athlete, start=parsed.start, end=end, tolerance_s=settings.duplicate_start_tolerance_s
            )
            if same_session is not None:
                raise _duplicate_error(same_session, parsed.start)
            try:
                with transaction.atomic():
                    activity = Activity.objects.create(
                        athlete=athlete,
                        sport=(sport or parsed.sport or "")[:MAX_SPORT_LENGTH].lower(),
                        start=parsed.start,
                        local_date=day,
                        elapsed_seconds=parsed.elapsed_seconds,
                        timer_seconds=timer,
                        average_hr=average_hr,
                        stream_average_hr=stream_average_hr(times, hrs, timer=timer, max_gap_s=settings.max_gap_s),
                        source=parsed.source_format,
                        external_id=key,
                        filename=(filename or "")[:255],
                        sample_count=int(times.size),
                        created_by=actor,
                    )
            except IntegrityError:  # the same file imported concurrently: theirs stands
                existing = Activity.objects.get(athlete=athlete, source=parsed.source_format, external_id=key)
                return ImportResult(activity=existing, created=False, notices=import_notices(existing))
            ActivityStream.objects.create(activity=activity, data=encode_stream(times, hrs), sample_count=times.size)
            apply_to_instance(activity, scored, timezone.now())
            activity.save(update_fields=SCORE_FIELDS)
            score_metrics_record(scored, choice)
            daily_loads_rebuild({(athlete.pk, activity.local_date)})
    except DatabaseError as exc:
        logger.exception("%s: storing an imported activity failed", DATABASE_ERROR)
        raise ServiceError(DATABASE_ERROR, "database error while storing the activity", status=503) from exc
    return ImportResult(activity=activity, created=True, notices=import_notices(activity))


def activity_score_now(*, activity: Activity, times: np.ndarray | None, hrs: np.ndarray | None) -> Activity:
    """Score one stored activity with its athlete's method and the profile of its day, and save the score.
    (Callers hold the transaction and rebuild the day's load.)"""
    book = ProfileBook.for_athletes([activity.athlete_id])
    scored = score_activity(
        times=times,
        hrs=hrs,
        timer_seconds=activity.timer_seconds,
        average_hr=activity.average_hr,
        profile=book.valid_on(activity.athlete_id, activity.local_date),
        choice=athlete_method(activity.athlete_id),
        max_gap_s=current_settings().max_gap_s,
    )
    apply_to_instance(activity, scored, timezone.now())
    activity.save(update_fields=SCORE_FIELDS)
    return activity


@transaction.atomic
def activity_delete(*, actor: User, activity: Activity) -> None:
    """Delete an activity (its owner only) and rebuild that day's load."""
    if actor.pk != activity.athlete_id:
        raise ServiceError("permission_denied", "Only the athlete who owns an activity may delete it.", status=403)
    day = (activity.athlete_id, activity.local_date)
    activity.delete()
    daily_loads_rebuild({day})


def activities_delete_for_admin(*, activity_ids: list[int]) -> int:
    """Delete activities from the ops console and rebuild their days' loads (one transaction)."""
    with transaction.atomic():
        days = set(Activity.objects.filter(pk__in=activity_ids).values_list("athlete_id", "local_date"))
        deleted, _ = Activity.objects.filter(pk__in=activity_ids).delete()
        daily_loads_rebuild(days)
    return deleted


@dataclass(frozen=True)
class ProfileResult:
    profile: HeartRateProfile
    job: Job | None
    affected_from: date | None  # None: from the athlete's first activity (a new first profile backfills)
    affected_until: date | None


@transaction.atomic
def hr_profile_create(
    *,
    actor: User | None,
    athlete: User,
    effective_from: date,
    resting_hr: float,
    max_hr: float,
    sex: str = "unspecified",
    threshold_hr: float | None = None,
    vt1_hr: float | None = None,
    vt2_hr: float | None = None,
) -> ProfileResult:
    """Add a dated profile and queue the re-scoring of exactly the activities it now covers: the athlete's
    local days from ``effective_from`` (from the first activity when it is the athlete's earliest profile: it
    backfills the days before it) until the next profile's date (activities without a profile there are
    scored for the first time). 409 when the athlete already has a profile from that date."""
    try:
        HRProfile(rest=resting_hr, max=max_hr, sex=sex, threshold=threshold_hr, vt1=vt1_hr, vt2=vt2_hr)  # type: ignore[arg-type]
    except HeartRateConfigError as exc:
        raise ServiceError(exc.code, exc.message, status=400) from exc
    if HeartRateProfile.objects.filter(athlete=athlete, effective_from=effective_from).exists():
        raise ConflictError("hr_profile_exists", f"A heart-rate profile from {effective_from} already exists.")
    try:
        with transaction.atomic():
            profile = HeartRateProfile.objects.create(
                athlete=athlete,
                effective_from=effective_from,
                resting_hr=resting_hr,
                max_hr=max_hr,
                sex=sex,
                threshold_hr=threshold_hr,
                vt1_hr=vt1_hr,
                vt2_hr=vt2_hr,
                created_by=actor,
            )
    except IntegrityError as exc:  # a concurrent request created the same date first
        raise ConflictError("hr_profile_exists", f"A heart-rate profile from {effective_from} already exists.") from exc
    until = (
        HeartRateProfile.objects.filter(athlete=athlete, effective_from__gt=effective_from)
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    # The athlete's first profile also scores the activities before it (marked backfilled), so a new first
    # profile covers every earlier day too.
    earliest = not HeartRateProfile.objects.filter(athlete=athlete, effective_from__lt=effective_from).exists()
    since: date | None = None if earliest else effective_from
    covered = Activity.objects.filter(athlete=athlete)
    if since is not None:
        covered = covered.filter(local_date__gte=since)
    if until is not None:
        covered = covered.filter(local_date__lt=until)
    job = None
    if covered.exists():
        job = recalculation_start(
            actor=actor,
            athlete_id=athlete.pk,
            since=since,
            until=until,
            reason=f"heart-rate profile from {effective_from} added",
            trigger="hr_profile",
        )
    return ProfileResult(profile=profile, job=job, affected_from=since, affected_until=until)


SETTING_LIMITS: dict[str, tuple[type, float, float]] = {
    "max_gap_s": (float, 0.001, 3600.0),
    "ctl_days": (float, 0.1, 365.0),
    "atl_days": (float, 0.1, 365.0),
    "max_upload_bytes": (int, 1024, 1024**3),
    "max_samples": (int, 10, 10_000_000),
    "recalc_chunk_size": (int, 1, 100_000),
    "recalc_parallelism": (int, 0, 64),
    "chunk_lease_seconds": (int, 1, 86_400),
    "comparison_max_activities": (int, 1, 100_000),
    "duplicate_start_tolerance_s": (int, 0, 86_400),
}


def setting_clean(name: str, value: Any) -> float | int:
    kind, low, high = SETTING_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ServiceError("validation_error", f"{name} must be a number.", details={name: "not a number"})
    if kind is int and value != int(value):
        raise ServiceError("validation_error", f"{name} must be a whole number.", details={name: "not whole"})
    if not low <= value <= high:
        raise ServiceError("validation_error", f"{name} must be between {low:g} and {high:g}.", details={name: value})
    return int(value) if kind is int else float(value)


@dataclass(frozen=True)
class SettingsResult:
    settings: TrimpSettings
    change: TrimpSettingsChange | None
    recalculation_recommended: bool


@transaction.atomic
def trimp_settings_update(*, actor: User | None, changes: dict[str, Any], reason: str = "") -> SettingsResult:
    """Change ops settings (validated, audited). A change of ``max_gap_s`` alters TRIMP values: the result
    says a recalculation is recommended (it is not started on its own: ops choose the scope)."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ServiceError("validation_error", f"unknown settings: {', '.join(unknown)}", details={"unknown": unknown})
    clean = {name: setting_clean(name, value) for name, value in changes.items()}
    row, _ = TrimpSettings.objects.select_for_update().get_or_create(pk=1)
    before = settings_dict(row)
    for name, value in clean.items():
        setattr(row, name, value)
    after = settings_dict(row)
    if before == after:
        return SettingsResult(settings=row, change=None, recalculation_recommended=False)
    row.updated_by = actor
    row.save()
    changed = {name for name in after if after[name] != before[name]}
    change = TrimpSettingsChange.objects.create(actor=actor, reason=reason[:500], before=before, after=after)
    return SettingsResult(settings=row, change=change, recalculation_recommended=bool(changed & SCORING_FIELDS))


def settings_snapshot() -> dict[str, Any]:
    return settings_dict(current_settings())


def file_score(
    *, data: bytes, filename: str | None, profile: HRProfile, method: str = "auto", max_gap_s: float
) -> dict[str, Any]:
    """Score a file's bytes with ``profile`` (no database): the engine's result plus the file's summary.
    Raises ``TrimpError`` (``ActivityFileError`` for an unreadable file)."""
    parsed = parse(data, filename)
    result = score(
        parsed.times,
        parsed.hrs,
        profile,
        method=method,  # type: ignore[arg-type]
        timer_seconds=parsed.timer_seconds,
        session_avg_hr=parsed.session_avg_hr,
        max_gap_s=max_gap_s,
    )
    return {
        "trimp": result.trimp,
        "method": result.method,
        "reason": result.reason,
        "valid_samples": result.valid_samples,
        "sample_count": result.sample_count,
        "credited_seconds": result.credited_seconds,
        "reference_seconds": result.reference_seconds,
        "average_hr": result.average_hr,
        "stream_trimp": result.stream_trimp,
        "edwards": result.edwards,
        "lucia": result.lucia,
        "lucia_error": result.lucia_error,
        "seconds_above_max": result.seconds_above_max,
        "warnings": list(result.warnings),
        "engine_version": result.engine_version,
        "source_format": parsed.source_format,
        "sport": parsed.sport,
        "start": parsed.start.isoformat() if parsed.start else None,
        "timer_seconds": parsed.timer_seconds,
        "elapsed_seconds": parsed.elapsed_seconds,
        "session_avg_hr": parsed.session_avg_hr,
    }

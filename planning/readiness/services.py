"""Writes of the readiness app: sessions, check-ins, baselines and rules.

Keyword-only, typed, one transaction each; bad input raises ``core.errors`` (400/404) before anything is
written. Completing a session with a quality freezes its features, records the prediction error metric
(``readiness.quality_abs_error``, tagged by source) and enqueues the athlete's posterior update after commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.errors import NotFoundError, ServiceError
from core.jobs import job_enqueue
from core.models import User
from planning.engine.days import session_days
from planning.models import PlanJob
from planning.readiness import engine, selectors
from planning.readiness.models import BaselineAssessment, CheckIn, Rule, TrainingSession
from planning.readiness.ops import ERROR_METRIC
from rollout.monitoring import record
from training.models import Activity

UPDATE_JOB = "readiness.update_athlete"
SESSION_FIELDS = (
    "date",
    "sport",
    "session_type",
    "planned_duration_min",
    "actual_duration_min",
    "planned_intensity",
    "actual_intensity",
    "planned_volume",
    "actual_volume",
    "deviated_from_plan",
    "session_quality",
    "session_rpe",
    "notes",
    "completed",
)


def _activity(athlete: User, activity_id: int | None) -> Activity | None:
    if activity_id is None:
        return None
    activity = Activity.objects.filter(pk=activity_id, athlete_id=athlete.pk).first()
    if activity is None:
        raise NotFoundError("activity_not_found", f"Activity {activity_id} was not found for this athlete.")
    return activity


def _checkin(athlete: User, checkin_id: int | None, session: TrainingSession | None = None) -> CheckIn | None:
    if checkin_id is None:
        return None
    checkin = CheckIn.objects.filter(pk=checkin_id, athlete_id=athlete.pk).first()
    if checkin is None:
        raise NotFoundError("checkin_not_found", f"Check-in {checkin_id} was not found for this athlete.")
    taken = TrainingSession.objects.filter(checkin_id=checkin_id)
    if session is not None:
        taken = taken.exclude(pk=session.pk)
    if taken.exists():
        raise ServiceError("checkin_in_use", f"Check-in {checkin_id} already belongs to another session.")
    return checkin


def _plan_link(athlete: User, plan_job_id: UUID | None, plan_day: int | None) -> PlanJob | None:
    """The plan job a session links to, checked: both or neither given; the plan job exists, is the athlete's
    (someone else's answers 404, as if it did not exist) and completed; ``plan_day`` has a session in its plan."""
    if plan_job_id is None and plan_day is None:
        return None
    if plan_job_id is None or plan_day is None:
        raise ServiceError(
            "validation_error",
            "plan_job_id and plan_day go together: give both to link the session to a plan session, or neither.",
            details={"plan_job_id": str(plan_job_id) if plan_job_id else None, "plan_day": plan_day},
        )
    plan_job = PlanJob.objects.filter(pk=plan_job_id, user_id=athlete.pk).first()
    if plan_job is None:
        raise NotFoundError("plan_job_not_found", f"Plan job {plan_job_id} was not found for this athlete.")
    if plan_job.status != PlanJob.Status.COMPLETED:
        raise ServiceError(
            "plan_job_not_completed",
            f"Plan job {plan_job_id} is {plan_job.status}: a session links only to a completed plan.",
            details={"status": plan_job.status},
        )
    days = session_days((plan_job.result_data or {}).get("plan") or {})
    if plan_day not in days:
        raise ServiceError(
            "plan_day_invalid",
            f"Day {plan_day} of plan job {plan_job_id} has no session (day 1 is the Monday of week 1).",
            details={"plan_day": plan_day, "session_days": days},
        )
    return plan_job


def _deviated(session: TrainingSession) -> bool:
    """Actual differs from plan by more than 20 % in duration, intensity or volume."""
    for planned, actual in (
        (session.planned_duration_min, session.actual_duration_min),
        (session.planned_intensity, session.actual_intensity),
        (session.planned_volume, session.actual_volume),
    ):
        if planned and actual is not None and abs(actual - planned) > 0.2 * planned:
            return True
    return False


def _freeze_features(session: TrainingSession) -> None:
    """Fill ``x_*`` from the linked check-in (centred on the running mean before it) and the day's form."""
    checkin = session.checkin
    if checkin is not None:
        means = selectors.checkin_means(session.athlete_id, before=checkin)
        for column, item in zip(selectors.FEATURE_COLUMNS[:4], selectors.CHECKIN_ITEMS, strict=True):
            value, mean = getattr(checkin, item), means[item]
            setattr(session, column, 0.0 if value is None or mean is None else float(value) - float(mean))
    session.x_form = selectors.form_feature(session.athlete_id, session.date)


def _on_completed(session: TrainingSession, actor: User | None) -> None:
    _freeze_features(session)
    session.in_model = True
    session.completed_at = session.completed_at or timezone.now()
    x = np.array([1.0, *(getattr(session, c) for c in selectors.FEATURE_COLUMNS)])
    predicted, source = engine.prediction_for_features(athlete=session.athlete, x=x)
    session.predicted_quality = round(predicted, 3)
    session.prediction_source = source
    assert session.session_quality is not None
    record(ERROR_METRIC, abs(predicted - session.session_quality), source=source)
    session.save()
    engine.invalidate(athlete_id=session.athlete_id)
    job_enqueue(kind=UPDATE_JOB, params={"session_id": session.pk}, created_by=actor)


def _validate_session(session: TrainingSession) -> None:
    if session.completed and session.session_quality is None:
        raise ServiceError("validation_error", "A completed session needs session_quality (1–10).")
    if session.session_quality is not None and not session.completed:
        raise ServiceError("validation_error", "session_quality is reported after the session: set completed.")


@transaction.atomic
def session_create(
    *,
    athlete: User,
    actor: User | None,
    activity_id: int | None = None,
    checkin_id: int | None = None,
    plan_job_id: UUID | None = None,
    plan_day: int | None = None,
    **fields: Any,
) -> TrainingSession:
    """Create a session (planned, or completed with its quality), linked to a plan session when ``plan_job_id``
    and ``plan_day`` are given (see ``_plan_link`` for what is checked)."""
    session = TrainingSession(athlete=athlete, **{k: v for k, v in fields.items() if k in SESSION_FIELDS})
    session.activity = _activity(athlete, activity_id)
    session.checkin = _checkin(athlete, checkin_id)
    session.plan_job = _plan_link(athlete, plan_job_id, plan_day)
    session.plan_day = plan_day
    if "deviated_from_plan" not in fields:
        session.deviated_from_plan = _deviated(session)
    _validate_session(session)
    session.save()
    if session.completed:
        _on_completed(session, actor)
    return session


@transaction.atomic
def session_update(
    *,
    session: TrainingSession,
    actor: User | None,
    activity_id: Any = ...,
    checkin_id: Any = ...,
    plan_job_id: Any = ...,
    plan_day: Any = ...,
    **fields: Any,
) -> TrainingSession:
    """Change a session; completing it (with a quality) triggers the model update. A completed session's
    features stay frozen (the nightly refit re-reads its quality).

    The plan link changes when ``plan_job_id`` or ``plan_day`` is given; the one not given keeps its value, and
    the result is checked as on create — except that ``plan_job_id=None`` alone unlinks (clears the day too)."""
    session = TrainingSession.objects.select_for_update().get(pk=session.pk)
    was_completed = session.completed
    for key, value in fields.items():
        if key in SESSION_FIELDS:
            setattr(session, key, value)
    athlete = User.objects.get(pk=session.athlete_id)
    if activity_id is not ...:
        session.activity = _activity(athlete, activity_id)
    if checkin_id is not ...:
        session.checkin = _checkin(athlete, checkin_id, session)
    if plan_job_id is not ... or plan_day is not ...:
        if plan_job_id is None and plan_day is ...:
            plan_day = None
        job_id = session.plan_job_id if plan_job_id is ... else plan_job_id
        day = session.plan_day if plan_day is ... else plan_day
        session.plan_job = _plan_link(athlete, job_id, day)
        session.plan_day = day
    if was_completed and not session.completed:
        raise ServiceError("validation_error", "A completed session cannot be reopened.")
    if "deviated_from_plan" not in fields:
        session.deviated_from_plan = _deviated(session)
    _validate_session(session)
    session.save()
    if session.completed and not was_completed:
        session.athlete = athlete
        _on_completed(session, actor)
    return session


@transaction.atomic
def checkin_create(
    *,
    athlete: User,
    day: date,
    sleep_hours: float,
    energy_level: int,
    stress_level: int,
    soreness: int | None = None,
    motivation: int | None = None,
    pain_reported: bool = False,
    pain_note: str = "",
) -> CheckIn:
    checkin = CheckIn.objects.create(
        athlete=athlete,
        date=day,
        sleep_hours=sleep_hours,
        energy_level=energy_level,
        stress_level=stress_level,
        soreness=soreness,
        motivation=motivation,
        pain_reported=pain_reported,
        pain_note=pain_note,
    )
    engine.invalidate(athlete_id=athlete.pk)
    transaction.on_commit(lambda: engine.invalidate(athlete_id=athlete.pk))
    return checkin


@transaction.atomic
def checkin_update(*, checkin: CheckIn, **fields: Any) -> CheckIn:
    checkin = CheckIn.objects.select_for_update().get(pk=checkin.pk)
    for key, value in fields.items():
        setattr(checkin, "date" if key == "day" else key, value)
    checkin.save()
    return checkin


@transaction.atomic
def baseline_upsert(*, athlete: User, **fields: Any) -> tuple[BaselineAssessment, bool]:
    """Create or replace the athlete's baseline assessment (one per athlete)."""
    baseline, created = BaselineAssessment.objects.select_for_update().get_or_create(user=athlete, defaults=fields)
    if not created:
        for key, value in fields.items():
            setattr(baseline, key, value)
        baseline.save()
    return baseline, created


@transaction.atomic
def rule_save(*, rule: Rule) -> Rule:
    """Save a rule (admin or API) and invalidate the engine's rule cache after commit."""
    if rule.operator != Rule.Operator.IS_TRUE and rule.field == Rule.Field.PAIN_REPORTED:
        raise ServiceError("validation_error", "pain_reported takes the operator is_true.")
    rule.save()
    engine.invalidate()
    transaction.on_commit(engine.invalidate)  # again once committed, so no reader cached the old rules meanwhile
    return rule


@transaction.atomic
def rule_delete(*, rule: Rule) -> None:
    rule.delete()
    engine.invalidate()
    transaction.on_commit(engine.invalidate)


DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "Pain or injury reported",
        "field": "pain_reported",
        "operator": "is_true",
        "threshold": 0,
        "action": "rest",
        "priority": 100,
        "overrides_model": True,
        "message": "You reported pain: rest today and have it looked at if it persists.",
    },
    {
        "name": "Almost no sleep",
        "field": "sleep_hours",
        "operator": "lt",
        "threshold": 4,
        "action": "technique_only",
        "priority": 90,
        "overrides_model": True,
        "adjust_volume_pct": -60,
        "adjust_intensity_pct": -50,
        "message": "Under 4 h of sleep: technique only, no hard efforts.",
    },
    {
        "name": "Load spike (ACWR > 1.5)",
        "field": "acwr",
        "operator": "gt",
        "threshold": 1.5,
        "action": "reduce_volume",
        "priority": 80,
        "overrides_model": False,
        "adjust_volume_pct": -20,
        "message": "Acute load is over 1.5× chronic: cut volume by a fifth.",
    },
    {
        "name": "Very sore",
        "field": "soreness",
        "operator": "gte",
        "threshold": 5,
        "action": "reduce_intensity",
        "priority": 60,
        "overrides_model": False,
        "adjust_intensity_pct": -15,
        "message": "Very sore: keep the intensity down.",
    },
]


def rules_sync_defaults() -> list[str]:
    """Create the default rules that do not exist yet (by name); existing rules belong to ops."""
    created = []
    for spec in DEFAULT_RULES:
        _, was_created = Rule.objects.get_or_create(name=spec["name"], defaults=spec)
        if was_created:
            created.append(spec["name"])
    if created:
        engine.invalidate()
    return created

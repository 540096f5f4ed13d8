"""Readiness's experiment metric sources (registered from ReadinessConfig.ready; rollout never imports readiness).

On completed training sessions with a reported quality, at ``completed_at`` (when the quality is reported and
the prediction made), for the session's athlete:

- ``readiness.session_quality``: the reported quality, 1–10 (mean, higher is better);
- ``readiness.prediction_error``: |predicted − reported quality| in quality points, the quantity the guard rule
  "Readiness prediction error" watches (``readiness.quality_abs_error``), from the stored prediction
  (``predicted_quality``, rounded to 3 decimals); sessions without a prediction do not count (mean, lower is
  better). Both read the same rows, so an analysis scans them once.

And, on the plan links of the sessions (``plan_job`` and ``plan_day`` set):

- ``planning.adherence``: the share of plan-linked sessions whose day has passed (``date`` before today) that
  were completed as planned — ``completed`` and not ``deviated_from_plan`` (actual duration, intensity and
  volume within 20 % of the plan). A session left open counts as missed. Its time is the session's day
  (midnight UTC), so the sessions due after a user's first exposure count. Registered here because the
  sessions, and their plan links, are readiness's rows.

``write_events`` bulk-creates synthetic sessions (demo data and benchmarks) with ``in_model`` false: the
readiness model never learns from them. The plan-linked ones link to real plan jobs: one synthetic completed plan
job per user of the call (bulk-created, unscored so ``planning.plan_score`` ignores it) whose plan is one week
with one session, on Monday — day 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case, DateTimeField, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Abs, Cast
from django.utils import timezone

from planning.models import PlanJob
from planning.readiness.models import TrainingSession
from rollout.experiments.registry import Event, MetricSource, register_metric_source

SYNTHETIC_NOTE = "Synthetic session (experiment demo data)."
SYNTHETIC_PLAN_NOTE = "Synthetic plan job (experiment demo data): the plan of synthetic plan-linked sessions."
SYNTHETIC_PLAN_DAY = 1  # the Monday of week 1: the one session of the synthetic plan
SYNTHETIC_PLAN: dict[str, Any] = {
    "generator": "synthetic",
    "seed": 0,
    "durationWeeks": 1,
    "sessionsPerWeek": 1,
    "weekdays": [1],
    "phases": [{"name": "accumulation", "weeks": [1]}],
    "microcycles": [
        {
            "week": 1,
            "phase": "accumulation",
            "deload": False,
            "sessions": [
                {"weekday": 1, "focus": "conditioning", "intensity": "moderate", "durationMinutes": 60, "exercises": []}
            ],
        }
    ],
}
SYNTHETIC_ADHERENT_QUALITY = 7  # a completed session needs a quality


def _reported() -> QuerySet[TrainingSession]:
    return TrainingSession.objects.filter(completed=True, session_quality__isnull=False)


def _plan_sessions_due() -> QuerySet[TrainingSession]:
    return TrainingSession.objects.filter(
        plan_job__isnull=False, plan_day__isnull=False, date__lt=timezone.localdate()
    ).annotate(due_at=Cast("date", DateTimeField()))


def _session(user_id: int, at: datetime, **fields: Any) -> TrainingSession:
    return TrainingSession(athlete_id=user_id, date=at.astimezone(UTC).date(), notes=SYNTHETIC_NOTE, **fields)


@transaction.atomic
def write_reported_sessions(events: list[Event]) -> int:
    """Completed sessions with the given quality (rounded, clipped to 1–10) and no prediction."""
    rows = [
        _session(
            user_id,
            at,
            completed=True,
            completed_at=at,
            session_quality=int(min(10, max(1, round(value)))),
        )
        for user_id, value, at in events
    ]
    return len(TrainingSession.objects.bulk_create(rows, batch_size=5000))


@transaction.atomic
def write_predicted_sessions(events: list[Event]) -> int:
    """Completed sessions whose stored prediction is off by the given error (|value|, at most 9 points):
    quality 5 predicted as 5 + error, or quality 1 predicted as 1 + error for errors above 5."""
    rows = []
    for user_id, value, at in events:
        error = round(min(9.0, abs(value)), 3)
        quality = 5 if error <= 5 else 1
        rows.append(
            _session(
                user_id,
                at,
                completed=True,
                completed_at=at,
                session_quality=quality,
                predicted_quality=quality + error,
                prediction_source="synthetic",
            )
        )
    return len(TrainingSession.objects.bulk_create(rows, batch_size=5000))


def write_synthetic_plans(first_event_at: dict[int, datetime]) -> dict[int, PlanJob]:
    """One completed, unscored plan job per user (``SYNTHETIC_PLAN``), finished a day before the user's first
    event: user id → plan job. Demo data and benchmarks only; not run through the generator."""
    plans = {
        user_id: PlanJob(
            user_id=user_id,
            status=PlanJob.Status.COMPLETED,
            request={"userId": user_id, "note": SYNTHETIC_PLAN_NOTE},
            result_data={"plan": SYNTHETIC_PLAN},
            started_at=at - timedelta(days=1),
            finished_at=at - timedelta(days=1),
        )
        for user_id, at in first_event_at.items()
    }
    PlanJob.objects.bulk_create(plans.values(), batch_size=5000)  # UUID keys are made here, not returned
    return plans


@transaction.atomic
def write_plan_sessions(events: list[Event]) -> int:
    """Plan-linked sessions due on the event's day: value ≥ 0.5 completed as planned (quality 7), below 0.5
    missed (left open). Each links to day 1 of a synthetic plan job of its user (one per user of the call)."""
    first_event_at: dict[int, datetime] = {}
    for user_id, _, at in events:
        first_event_at[user_id] = min(at, first_event_at.get(user_id, at))
    plans = write_synthetic_plans(first_event_at)
    rows = []
    for user_id, value, at in events:
        done = value >= 0.5
        rows.append(
            _session(
                user_id,
                at,
                plan_job=plans[user_id],
                plan_day=SYNTHETIC_PLAN_DAY,
                planned_duration_min=60.0,
                actual_duration_min=60.0 if done else None,
                completed=done,
                completed_at=at if done else None,
                session_quality=SYNTHETIC_ADHERENT_QUALITY if done else None,
            )
        )
    return len(TrainingSession.objects.bulk_create(rows, batch_size=5000))


def register() -> None:
    register_metric_source(
        MetricSource(
            name="readiness.session_quality",
            description="Reported quality (1–10) of each completed session.",
            queryset=_reported,
            user_field="athlete_id",
            value="session_quality",
            time_field="completed_at",
            kind="mean",
            direction="increase",
            unit="1–10",
            owner="readiness",
            write_events=write_reported_sessions,
        )
    )
    register_metric_source(
        MetricSource(
            name="readiness.prediction_error",
            description="|predicted − reported| session quality (points) of each completed session with a "
            "prediction; the readiness guard's quantity.",
            queryset=_reported,
            user_field="athlete_id",
            value=Abs(F("predicted_quality") - F("session_quality"), output_field=FloatField()),
            time_field="completed_at",
            kind="mean",
            direction="decrease",
            unit="quality points",
            owner="readiness",
            write_events=write_predicted_sessions,
        )
    )
    register_metric_source(
        MetricSource(
            name="planning.adherence",
            description="Share of plan-linked sessions (plan job and day set) due before today that were "
            "completed and not deviated from the plan (a session left open counts as missed).",
            queryset=_plan_sessions_due,
            user_field="athlete_id",
            value=Case(
                When(Q(completed=True, deviated_from_plan=False), then=Value(1.0)),
                default=Value(0.0),
                output_field=FloatField(),
            ),
            time_field="due_at",
            kind="proportion",
            direction="increase",
            owner="planning",
            write_events=write_plan_sessions,
        )
    )

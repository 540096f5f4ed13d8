"""Readiness's experiment metric sources (registered from ReadinessConfig.ready; rollout never imports readiness).

On completed training sessions with a reported quality, at ``completed_at`` (when the quality is reported and
the prediction made), for the session's athlete:

- ``readiness.session_quality``: the reported quality, 1–10 (mean, higher is better);
- ``readiness.prediction_error``: |predicted − reported quality| in quality points, the quantity the guard rule
  "Readiness prediction error" watches (``readiness.quality_abs_error``), from the stored prediction
  (``predicted_quality``, rounded to 3 decimals); sessions without a prediction do not count (mean, lower is
  better). Both read the same rows, so an analysis scans them once.

And, on the plan links of the sessions (``plan_job_id`` and ``plan_day`` both set):

- ``planning.adherence``: the share of plan-linked sessions whose day has passed (``date`` before today) that
  were completed as planned — ``completed`` and not ``deviated_from_plan`` (actual duration, intensity and
  volume within 20 % of the plan). A session left open counts as missed. Its time is the session's day
  (midnight UTC), so the sessions due after a user's first exposure count. Registered here because the
  sessions, and their plan links, are readiness's rows.

``write_events`` bulk-creates synthetic sessions (demo data and benchmarks) with ``in_model`` false: the
readiness model never learns from them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Case, DateTimeField, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Abs, Cast
from django.utils import timezone

from planning.readiness.models import TrainingSession
from rollout.experiments.registry import Event, MetricSource, register_metric_source

SYNTHETIC_NOTE = "Synthetic session (experiment demo data)."
SYNTHETIC_PLAN_JOB_ID = 0  # no real plan job has id 0 (the API takes ids ≥ 1)
SYNTHETIC_ADHERENT_QUALITY = 7  # a completed session needs a quality


def _reported() -> QuerySet[TrainingSession]:
    return TrainingSession.objects.filter(completed=True, session_quality__isnull=False)


def _plan_sessions_due() -> QuerySet[TrainingSession]:
    return TrainingSession.objects.filter(
        plan_job_id__isnull=False, plan_day__isnull=False, date__lt=timezone.localdate()
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


@transaction.atomic
def write_plan_sessions(events: list[Event]) -> int:
    """Plan-linked sessions due on the event's day: value ≥ 0.5 completed as planned (quality 7), below 0.5
    missed (left open). Linked to plan job 0, day 1 (synthetic)."""
    rows = []
    for user_id, value, at in events:
        done = value >= 0.5
        rows.append(
            _session(
                user_id,
                at,
                plan_job_id=SYNTHETIC_PLAN_JOB_ID,
                plan_day=1,
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

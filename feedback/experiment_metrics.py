"""Feedback's experiment metric sources (registered from FeedbackConfig.ready; rollout never imports feedback):
accuracy within 5 % of the external number, feedback rating (1–5), satisfaction (a survey rated 4 or 5) and
poor ratings (1 or 2, a guardrail)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Case, FloatField, Value, When

from feedback import rollup
from feedback.models import AccuracyValidation, Feedback, FeedbackType, Status
from feedback.services import ACK_TARGET, message_fingerprint
from rollout.experiments.registry import Event, MetricSource, register_metric_source

SYNTHETIC_MESSAGE = "Synthetic satisfaction survey (experiment demo data)."


@transaction.atomic
def write_surveys(events: list[Event]) -> int:
    """Satisfaction surveys with the given ratings (1–5), for demo data and benchmarks; daily counts rebuilt."""
    digest = message_fingerprint(FeedbackType.SATISFACTION_SURVEY, SYNTHETIC_MESSAGE)
    rows = [
        Feedback(
            user_id=user_id,
            type=FeedbackType.SATISFACTION_SURVEY,
            rating=min(5, max(1, round(value))),
            message=SYNTHETIC_MESSAGE,
            message_hash=digest,
            status=Status.CLOSED,
            week=rollup.week_start(at.date()),
            created_at=at,
            ack_due_at=at + ACK_TARGET,
            closed_at=at + timedelta(minutes=1),
        )
        for user_id, value, at in events
    ]
    Feedback.objects.bulk_create(rows, batch_size=5000)
    rollup.rebuild()
    return len(rows)


def register() -> None:
    register_metric_source(
        MetricSource(
            name="trimp.accuracy_within_5pct",
            description="Share of accuracy validations within 5 % of the external value.",
            queryset=AccuracyValidation.objects.all,
            user_field="user_id",
            value=Case(When(within_5pct=True, then=Value(1.0)), default=Value(0.0), output_field=FloatField()),
            time_field="created_at",
            kind="proportion",
            direction="increase",
            owner="feedback",
        )
    )
    register_metric_source(
        MetricSource(
            name="feedback.rating",
            description="Rating (1–5) given with any feedback.",
            queryset=lambda: Feedback.objects.filter(rating__isnull=False),
            user_field="user_id",
            value="rating",
            time_field="created_at",
            kind="mean",
            direction="increase",
            unit="1–5",
            owner="feedback",
            write_events=write_surveys,
        )
    )
    register_metric_source(
        MetricSource(
            name="feedback.satisfied",
            description="Satisfaction surveys rated 4 or 5 (the seed's > 4.0 target as a share).",
            queryset=lambda: Feedback.objects.filter(type=FeedbackType.SATISFACTION_SURVEY, rating__isnull=False),
            user_field="user_id",
            value=Case(When(rating__gte=4, then=Value(1.0)), default=Value(0.0), output_field=FloatField()),
            time_field="created_at",
            kind="proportion",
            direction="increase",
            owner="feedback",
            write_events=write_surveys,
        )
    )
    register_metric_source(
        MetricSource(
            name="feedback.poor_rating",
            description="Ratings of 1 or 2 (a guardrail: unhappy users, lower is better).",
            queryset=lambda: Feedback.objects.filter(rating__isnull=False),
            user_field="user_id",
            value=Case(When(rating__lte=2, then=Value(1.0)), default=Value(0.0), output_field=FloatField()),
            time_field="created_at",
            kind="proportion",
            direction="decrease",
            owner="feedback",
            write_events=write_surveys,
        )
    )

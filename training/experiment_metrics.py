"""Training's experiment metric sources and its shadow comparison (registered from TrainingConfig.ready;
rollout never imports training).

Per activity scored after a user's first exposure: calculation time (ms, lower is better) and whether the
calculation failed (a proportion, lower is better). Time is ``trimp_processed_at`` — when the method ran.
"""

from __future__ import annotations

from django.db.models import Case, FloatField, Q, QuerySet, Value, When

from rollout.experiments.registry import MetricSource, register_metric_source
from rollout.shadow import ShadowComparison, ShadowItem, register_shadow_comparison
from training.comparison import trimp_comparison
from training.config import current_settings
from training.models import Activity


def _scored() -> QuerySet[Activity]:
    return Activity.objects.filter(trimp_processed_at__isnull=False)


def trimp_method_shadow() -> list[ShadowItem]:
    """Average-HR (what users have with the flag off) vs stream TRIMP on a seeded sample of up to 500 activities."""
    report = trimp_comparison(sample=min(500, current_settings().comparison_max_activities), seed=0)
    return [
        ShadowItem(row["activity_id"], row["average_hr"], row["stream"], ",".join(sorted(row["errors"])))
        for row in report["activities"]
    ]


def register() -> None:
    register_shadow_comparison(
        ShadowComparison(
            name="trimp-method",
            description="Average-HR (current) vs stream-based (candidate) Banister TRIMP on stored activities.",
            run=trimp_method_shadow,
        )
    )
    register_metric_source(
        MetricSource(
            name="trimp.calculation_ms",
            description="Time of one TRIMP calculation (per-user mean).",
            queryset=_scored,
            user_field="athlete_id",
            value="calculation_ms",
            time_field="trimp_processed_at",
            kind="mean",
            direction="decrease",
            unit="ms",
            owner="training",
        )
    )
    register_metric_source(
        MetricSource(
            name="trimp.calculation_error",
            description="Share of TRIMP calculations that failed (an error code instead of a value).",
            queryset=_scored,
            user_field="athlete_id",
            value=Case(When(~Q(trimp_error_code=""), then=Value(1.0)), default=Value(0.0), output_field=FloatField()),
            time_field="trimp_processed_at",
            kind="proportion",
            direction="decrease",
            owner="training",
        )
    )

"""Reads for experiments: the list with the latest verdicts, the latest result, exposures per day."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from rollout.experiments.models import Experiment, ExperimentResult, Exposure


def experiments_list() -> QuerySet[Experiment]:
    return Experiment.objects.select_related("flag", "owner").prefetch_related("variants", "metrics").order_by("key")


def experiment_get(key: str) -> Experiment | None:
    return experiments_list().filter(key=key).first()


def latest_result(experiment: Experiment) -> ExperimentResult | None:
    return experiment.results.order_by("-computed_at", "-id").first()


def exposures_per_day(experiment: Experiment) -> dict[str, list[tuple[date, int]]]:
    """variant → [(day, newly exposed users)], in day order (grouped in SQL)."""
    rows = (
        Exposure.objects.filter(experiment=experiment)
        .annotate(day=TruncDate("exposed_at"))
        .values("variant", "day")
        .order_by("day")
        .annotate(users=Count("id"))
    )
    series: dict[str, list[tuple[date, int]]] = {}
    for row in rows:
        series.setdefault(row["variant"], []).append((row["day"], row["users"]))
    return series


def result_payload(result: ExperimentResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "id": result.pk,
        "computed_at": result.computed_at,
        "verdict": result.verdict,
        "reason": result.reason,
        "srm_p_value": result.srm_p_value,
        "exposures": result.exposures,
        "duration_ms": result.duration_ms,
        "data": result.data,
    }

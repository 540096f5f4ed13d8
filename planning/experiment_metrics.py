"""Planning's experiment metric source (registered from PlanningConfig.ready; rollout never imports planning).

``planning.plan_score``: the ``fixed-weight-v1`` total (0–1, higher is better) of each plan job that finished
with a score, for the plan's athlete (``PlanJob.user``, the request's ``userId``), at its ``finished_at``. Plans
generated with the scoring flag off have no score and do not count. Plan adherence is registered by readiness,
whose training sessions carry the plan links (``planning/readiness/experiment_metrics.py``).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet

from planning.engine.contract import sample_payload
from planning.engine.scoring import VERSION, WEIGHTS
from planning.models import PlanJob
from rollout.experiments.registry import Event, MetricSource, register_metric_source

SYNTHETIC_NOTE = "Synthetic plan job (experiment demo data)."


def _scored() -> QuerySet[PlanJob]:
    return PlanJob.objects.filter(status=PlanJob.Status.COMPLETED, score_total__isnull=False)


def synthetic_scoring(total: float, *, evaluated_at: str) -> dict[str, Any]:
    """A ``fixed-weight-v1`` payload whose three factor scores all equal ``total`` (so its total is ``total``,
    to 4 decimals), with the contract example's metrics: it passes ``payload_failures``. Demo data only."""
    score = round(min(1.0, max(0.0, total)), 4)
    payload = copy.deepcopy(sample_payload())
    for name, weight in WEIGHTS.items():
        factor = payload["factors"][name]
        factor.update(weight=weight, score=score, contribution=round(weight * score, 4), reasons=[SYNTHETIC_NOTE])
    payload["version"] = VERSION
    payload["total"] = round(sum(f["contribution"] for f in payload["factors"].values()), 4)
    payload["metadata"]["evaluatedAt"] = evaluated_at
    payload["metadata"]["synthetic"] = True
    return payload


@transaction.atomic
def write_scored_plans(events: list[Event]) -> int:
    """One completed, scored plan job per event (user, total 0–1, finished at), for demo data and benchmarks:
    no plan (``result_data.plan`` is empty), a contract-valid score. Not run through the generator."""
    rows = []
    for user_id, value, at in events:
        scoring = synthetic_scoring(value, evaluated_at=at.isoformat())
        rows.append(
            PlanJob(
                user_id=user_id,
                status=PlanJob.Status.COMPLETED,
                request={"userId": user_id, "note": SYNTHETIC_NOTE},
                result_data={"plan": {}, "scoring": scoring},
                score_total=scoring["total"],
                started_at=at - timedelta(seconds=1),
                finished_at=at,
            )
        )
    created = PlanJob.objects.bulk_create(rows, batch_size=5000)
    # created_at is auto_now_add (bulk_create sets it to now): put it back before the plan finished.
    PlanJob.objects.filter(pk__in=[row.pk for row in created]).update(created_at=F("started_at"))
    return len(created)


def register() -> None:
    register_metric_source(
        MetricSource(
            name="planning.plan_score",
            description="fixed-weight-v1 total (0–1) of each plan that finished with a score, per athlete.",
            queryset=_scored,
            user_field="user_id",
            value="score_total",
            time_field="finished_at",
            kind="mean",
            direction="increase",
            unit="0–1",
            owner="planning",
            write_events=write_scored_plans,
        )
    )

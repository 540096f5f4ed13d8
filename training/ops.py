"""What training registers with rollout: its flag, the TRIMP alert rules, the demo rollout of enhanced TRIMP
and the re-scoring of stream-scored activities after a rollback.

Imported from ``TrainingConfig.ready`` (rollout never imports training). The rules are the runbook's
thresholds; once created they belong to ops (edited in the admin).
"""

from __future__ import annotations

from typing import Any

from rollout import flags
from rollout.registry import (
    AlertRuleSpec,
    DemoRollout,
    FlagSpec,
    RescoreHook,
    register_alert_rule,
    register_demo_rollout,
    register_flag,
    register_rescore,
)
from training.models import Activity, Method
from training.recalculation import recalculation_start

ENHANCED_TRIMP_FLAG = "enhanced_trimp_calculation"

register_flag(
    FlagSpec(
        name=ENHANCED_TRIMP_FLAG,
        description="Score activities with stream-based (enhanced) TRIMP instead of the average-HR method.",
        default_on=False,
        owner="training",
    )
)

TRIMP_RULES: tuple[AlertRuleSpec, ...] = (
    AlertRuleSpec(
        name="TRIMP error rate",
        description="Share of TRIMP calculations that failed, per method (runbook: > 5 %).",
        metric="trimp.calculations",
        tags={"outcome": "failure"},
        denominator_metric="trimp.calculations",
        group_by=("method",),
        aggregation="ratio",
        operator="gt",
        warning=0.02,
        error=0.05,
        critical=0.05,
        window_minutes=10,
        min_samples=20,
        owner="training",
    ),
    AlertRuleSpec(
        name="TRIMP success rate",
        description="Share of TRIMP calculations that succeeded, per method (runbook: < 90 %).",
        metric="trimp.calculations",
        tags={"outcome": "success"},
        denominator_metric="trimp.calculations",
        group_by=("method",),
        aggregation="ratio",
        operator="lt",
        warning=0.95,
        error=0.9,
        critical=0.9,
        window_minutes=10,
        min_samples=20,
        owner="training",
    ),
    AlertRuleSpec(
        name="TRIMP accuracy within 5 %",
        description="Share of accuracy validations within 5 % of the external value, per method (runbook: < 80 %).",
        metric="trimp.accuracy_within_5pct",
        group_by=("method",),
        aggregation="mean",
        operator="lt",
        warning=0.85,
        error=0.8,
        critical=0.8,
        window_minutes=1440,
        interval_seconds=300,
        min_samples=10,
        recovery_minutes=60,
        owner="training",
    ),
    AlertRuleSpec(
        name="TRIMP calculation time p95",
        description="95th percentile of one TRIMP calculation, per method (runbook: 1,000 / 5,000 / 10,000 ms).",
        metric="trimp.calculation_ms",
        group_by=("method",),
        aggregation="p95",
        operator="gt",
        warning=1000,
        error=5000,
        critical=10000,
        window_minutes=10,
        min_samples=10,
        owner="training",
    ),
)
for _spec in TRIMP_RULES:
    register_alert_rule(_spec)

register_demo_rollout(
    DemoRollout(
        flag=ENHANCED_TRIMP_FLAG,
        phase="beta_rollout",
        reason="demo: ship stream-based TRIMP",
        guard_rules=("TRIMP error rate", "TRIMP success rate", "TRIMP calculation time p95"),
        guard_consecutive=3,
        owner="training",
    )
)


def stream_scored_now_off() -> list[int]:
    """Activities scored with the stream method whose athletes no longer get the flag (evaluated now)."""
    rows = list(
        Activity.objects.filter(trimp_calculation_method=Method.STREAM).order_by("id").values_list("id", "athlete_id")
    )
    enabled = {athlete: flags.evaluate(ENHANCED_TRIMP_FLAG, user_id=athlete)[0] for athlete in {a for _, a in rows}}
    return [activity for activity, athlete in rows if not enabled[athlete]]


def rescore_start(activity_ids: list[int], actor: Any, reason: str) -> int:
    """A recalculation job over exactly ``activity_ids`` (chunked, resumable, like every recalculation)."""
    return recalculation_start(actor=actor, activity_ids=activity_ids, trigger="rollback", reason=reason).pk


register_rescore(
    RescoreHook(
        flag=ENHANCED_TRIMP_FLAG,
        description="activities scored with stream-based TRIMP whose athletes no longer get it",
        candidates=stream_scored_now_off,
        start=rescore_start,
        owner="training",
    )
)

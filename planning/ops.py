"""What planning registers with rollout: its flag and its alert rules (rollout never imports planning).

Imported from ``PlanningConfig.ready``. The rules are created once after migrate and then belong to ops.
"""

from __future__ import annotations

from planning.monitoring import FOUNDATIONAL_MINIMUM, MOVEMENT_COUNT, SCORING
from rollout.registry import AlertRuleSpec, FlagSpec, register_alert_rule, register_flag

SCORING_FLAG = "v1_planning_scoring"
SCORING_ERRORS_RULE = "Planning scoring errors"
MOVEMENT_COUNT_RULE = "Movement library below 8"

register_flag(
    FlagSpec(
        name=SCORING_FLAG,
        description="Score generated plans with the v1 fixed-weight scoring.",
        default_on=False,
        env_override="FEATURE_V1_PLANNING_SCORING",
        owner="planning",
    )
)
register_alert_rule(
    AlertRuleSpec(
        name=SCORING_ERRORS_RULE,
        description="Plan scoring calculations that failed (runbook: scoring errors > 0). A guard rule.",
        metric=SCORING,
        tags={"outcome": "error"},
        aggregation="sum",
        operator="gt",
        warning=0,
        error=0,
        critical=0,
        window_minutes=10,
        min_samples=1,
        owner="planning",
    )
)
register_alert_rule(
    AlertRuleSpec(
        name=MOVEMENT_COUNT_RULE,
        description="Published movements in the library (runbook: count drops below 8 → possible data loss).",
        metric=MOVEMENT_COUNT,
        aggregation="min",
        operator="lt",
        warning=FOUNDATIONAL_MINIMUM,
        error=FOUNDATIONAL_MINIMUM,
        critical=FOUNDATIONAL_MINIMUM,
        window_minutes=15,
        min_samples=1,
        owner="planning",
    )
)

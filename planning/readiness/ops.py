"""What readiness registers with rollout: the personal-model flag and the guard rule on its prediction error.

Imported from ``ReadinessConfig.ready`` (rollout never imports readiness). The rule is created once after
migrate and then belongs to ops; name it as a guard of the flag's rollout:
``manage.py rollout start readiness_personal_model --guard "Readiness prediction error"``.
"""

from __future__ import annotations

from rollout.registry import AlertRuleSpec, FlagSpec, register_alert_rule, register_flag

PERSONAL_MODEL_FLAG = "readiness_personal_model"
ERROR_METRIC = "readiness.quality_abs_error"
GUARD_RULE_NAME = "Readiness prediction error"

register_flag(
    FlagSpec(
        name=PERSONAL_MODEL_FLAG,
        description="Predict session quality from the athlete's own model (off: population priors).",
        default_on=False,
        owner="readiness",
    )
)

register_alert_rule(
    AlertRuleSpec(
        name=GUARD_RULE_NAME,
        description="Mean absolute error (quality points, 1–10) between predicted and reported session quality, "
        "per source (personal / population / population_priors).",
        metric=ERROR_METRIC,
        group_by=("source",),
        aggregation="mean",
        operator="gt",
        warning=2.0,
        error=2.5,
        critical=3.0,
        window_minutes=1440,
        interval_seconds=300,
        min_samples=20,
        recovery_minutes=60,
        owner="readiness",
    )
)

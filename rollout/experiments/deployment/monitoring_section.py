"""``configs/performance_monitoring.yml``: the seed's thresholds (warning / error / critical, comparison
operator, window, evaluation interval) as Stamina's alert rules, by name. Rules the file does not name are
left alone."""

from __future__ import annotations

from typing import Any

from core.models import User
from rollout.experiments.deployment.sections import (
    Problem,
    Section,
    State,
    expect_choice,
    expect_mapping,
    expect_number,
    register_section,
    unknown_keys,
)
from rollout.monitoring.models import AlertRule
from rollout.monitoring.rules import alert_rule_apply, alert_rule_state

OPERATORS = {"greater_than": "gt", "greater_or_equal": "gte", "less_than": "lt", "less_or_equal": "lte"}
FIELDS = {
    "name",
    "description",
    "metric_name",
    "tags",
    "denominator_metric",
    "denominator_tags",
    "group_by",
    "aggregation",
    "comparison_operator",
    "warning_threshold",
    "error_threshold",
    "critical_threshold",
    "window_size_minutes",
    "evaluation_interval_seconds",
    "min_samples",
    "recovery_minutes",
    "enabled",
}


def validate(data: Any, context: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    root = expect_mapping(data, "", problems)
    unknown_keys(root, {"version", "thresholds"}, "", problems)
    thresholds = root.get("thresholds", [])
    if not isinstance(thresholds, list):
        return [*problems, ("thresholds", "must be a list")]
    names: set[str] = set()
    for i, spec in enumerate(thresholds):
        path = f"thresholds[{i}]"
        item = expect_mapping(spec, path, problems)
        unknown_keys(item, FIELDS, path, problems)
        for key in ("name", "metric_name", "aggregation", "comparison_operator"):
            if not isinstance(item.get(key), str) or not item.get(key):
                problems.append((f"{path}.{key}", "required"))
        if item.get("name") in names:
            problems.append((f"{path}.name", f"{item['name']!r} appears twice"))
        names.add(str(item.get("name")))
        expect_choice(item, "aggregation", path, problems, list(AlertRule.Aggregation.values))
        expect_choice(item, "comparison_operator", path, problems, list(OPERATORS))
        if item.get("aggregation") == "ratio" and not item.get("denominator_metric"):
            problems.append((f"{path}.denominator_metric", "a ratio needs a denominator_metric"))
        for key in ("warning_threshold", "error_threshold", "critical_threshold"):
            expect_number(item, key, path, problems, low=-1e12, high=1e12)
        if not any(k in item for k in ("warning_threshold", "error_threshold", "critical_threshold")):
            problems.append((path, "needs at least one of warning/error/critical_threshold"))
        levels = [item.get(k) for k in ("warning_threshold", "error_threshold", "critical_threshold")]
        levels = [v for v in levels if isinstance(v, int | float) and not isinstance(v, bool)]
        ordered = levels == sorted(levels, reverse=item.get("comparison_operator", "").startswith("less"))
        if not ordered:
            problems.append((path, "warning, error and critical thresholds must be in escalating order"))
        expect_number(item, "window_size_minutes", path, problems, low=1, high=60 * 24 * 30, integer=True)
        expect_number(item, "evaluation_interval_seconds", path, problems, low=10, high=86400, integer=True)
        expect_number(item, "min_samples", path, problems, low=1, high=10**9, integer=True)
        expect_number(item, "recovery_minutes", path, problems, low=0, high=60 * 24 * 30, integer=True)
    return problems


def desired(data: Any) -> dict[str, State]:
    result: dict[str, State] = {}
    for item in data.get("thresholds") or []:
        result[item["name"]] = {
            "description": item.get("description", ""),
            "metric": item["metric_name"],
            "tags": item.get("tags") or {},
            "denominator_metric": item.get("denominator_metric", ""),
            "denominator_tags": item.get("denominator_tags") or {},
            "group_by": item.get("group_by") or [],
            "aggregation": item["aggregation"],
            "operator": OPERATORS[item["comparison_operator"]],
            "warning": item.get("warning_threshold"),
            "error": item.get("error_threshold"),
            "critical": item.get("critical_threshold"),
            "window_minutes": item.get("window_size_minutes", 5),
            "interval_seconds": item.get("evaluation_interval_seconds", 60),
            "min_samples": item.get("min_samples", 1),
            "recovery_minutes": item.get("recovery_minutes", 5),
            "enabled": item.get("enabled", True),
        }
        for key in ("warning", "error", "critical"):
            value = result[item["name"]][key]
            result[item["name"]][key] = float(value) if value is not None else None
    return result


def export() -> dict[str, State]:
    return {rule.name: alert_rule_state(rule) for rule in AlertRule.objects.order_by("name")}


def apply(name: str, state: State | None, actor: User | None) -> None:
    alert_rule_apply(name=name, state=state)


register_section(
    Section(
        name="performance_monitoring",
        action="deploy-performance-monitoring",
        filename="performance_monitoring.yml",
        order=30,
        validate=validate,
        desired=desired,
        export=export,
        apply=apply,
    )
)

"""The runbooks' default rules and a log channel, created once (after migrate) and then owned by ops."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from rollout.models import AlertRule, NotificationChannel

LOG_CHANNEL = "ops log"

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "API error rate",
        "description": "Share of API responses that are 5xx (runbook: > 5 %).",
        "metric": "api.requests",
        "tags": {"status_class": "5xx"},
        "denominator_metric": "api.requests",
        "aggregation": "ratio",
        "operator": "gt",
        "warning": 0.02,
        "error": 0.05,
        "critical": 0.10,
        "window_minutes": 5,
        "min_samples": 20,
    },
    {
        "name": "API latency p95",
        "description": "95th percentile of API response time, per route.",
        "metric": "api.latency_ms",
        "group_by": ["route"],
        "aggregation": "p95",
        "operator": "gt",
        "warning": 500,
        "error": 1000,
        "critical": 2000,
        "window_minutes": 5,
        "min_samples": 20,
    },
    {
        "name": "TRIMP error rate",
        "description": "Share of TRIMP calculations that failed, per method (runbook: > 5 %).",
        "metric": "trimp.calculations",
        "tags": {"outcome": "failure"},
        "denominator_metric": "trimp.calculations",
        "group_by": ["method"],
        "aggregation": "ratio",
        "operator": "gt",
        "warning": 0.02,
        "error": 0.05,
        "critical": 0.05,
        "window_minutes": 10,
        "min_samples": 20,
    },
    {
        "name": "TRIMP success rate",
        "description": "Share of TRIMP calculations that succeeded, per method (runbook: < 90 %).",
        "metric": "trimp.calculations",
        "tags": {"outcome": "success"},
        "denominator_metric": "trimp.calculations",
        "group_by": ["method"],
        "aggregation": "ratio",
        "operator": "lt",
        "warning": 0.95,
        "error": 0.90,
        "critical": 0.90,
        "window_minutes": 10,
        "min_samples": 20,
    },
    {
        "name": "TRIMP accuracy within 5 %",
        "description": "Share of accuracy validations within 5 % of the external value, per method (runbook: < 80 %).",
        "metric": "trimp.accuracy_within_5pct",
        "group_by": ["method"],
        "aggregation": "mean",
        "operator": "lt",
        "warning": 0.85,
        "error": 0.80,
        "critical": 0.80,
        "window_minutes": 1440,
        "interval_seconds": 300,
        "min_samples": 10,
        "recovery_minutes": 60,
    },
    {
        "name": "TRIMP calculation time p95",
        "description": "95th percentile of one TRIMP calculation, per method (runbook: 1,000 / 5,000 / 10,000 ms).",
        "metric": "trimp.calculation_ms",
        "group_by": ["method"],
        "aggregation": "p95",
        "operator": "gt",
        "warning": 1000,
        "error": 5000,
        "critical": 10000,
        "window_minutes": 10,
        "min_samples": 10,
    },
    {
        "name": "Process memory",
        "description": "Resident memory of web and worker processes (runbook: 1,000 / 2,000 / 4,000 MB).",
        "metric": "process.rss_mb",
        "group_by": ["role"],
        "aggregation": "max",
        "operator": "gt",
        "warning": 1000,
        "error": 2000,
        "critical": 4000,
        "window_minutes": 5,
        "min_samples": 1,
    },
    {
        "name": "Job failure rate",
        "description": "Share of background jobs that failed, per kind.",
        "metric": "jobs.finished",
        "tags": {"outcome": "failed"},
        "denominator_metric": "jobs.finished",
        "group_by": ["kind"],
        "aggregation": "ratio",
        "operator": "gt",
        "warning": 0.05,
        "error": 0.2,
        "critical": 0.5,
        "window_minutes": 30,
        "min_samples": 5,
    },
]


def register_default_rule(spec: dict[str, Any]) -> None:
    """Let a feature app add a default rule (its own metrics); synced like the built-in ones, once, by name."""
    if all(existing["name"] != spec["name"] for existing in DEFAULT_RULES):
        DEFAULT_RULES.append(dict(spec))


@transaction.atomic
def monitoring_sync_defaults() -> list[str]:
    """Create the default channel and rules that do not exist yet (by name); never change existing ones."""
    channel, _ = NotificationChannel.objects.get_or_create(name=LOG_CHANNEL, defaults={"kind": "log"})
    created = []
    for spec in DEFAULT_RULES:
        rule, was_created = AlertRule.objects.get_or_create(name=spec["name"], defaults=dict(spec))
        if was_created:
            rule.channels.add(channel)
            created.append(rule.name)
    return created

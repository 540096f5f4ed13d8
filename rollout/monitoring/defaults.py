"""The default rules (the platform's below, the features' from ``rollout.registry``) and a log channel,
created once (after migrate) and then owned by ops."""

from __future__ import annotations

from django.db import transaction

from rollout.monitoring.models import AlertRule, NotificationChannel
from rollout.registry import AlertRuleSpec, registered_alert_rules

LOG_CHANNEL = "ops log"

# The platform's own rules; features register theirs with rollout.registry.register_alert_rule.
PLATFORM_RULES: tuple[AlertRuleSpec, ...] = (
    AlertRuleSpec(
        name="API error rate",
        description="Share of API responses that are 5xx (runbook: > 5 %).",
        metric="api.requests",
        tags={"status_class": "5xx"},
        denominator_metric="api.requests",
        aggregation="ratio",
        operator="gt",
        warning=0.02,
        error=0.05,
        critical=0.1,
        window_minutes=5,
        min_samples=20,
        owner="rollout",
    ),
    AlertRuleSpec(
        name="API latency p95",
        description="95th percentile of API response time, per route.",
        metric="api.latency_ms",
        group_by=("route",),
        aggregation="p95",
        operator="gt",
        warning=500,
        error=1000,
        critical=2000,
        window_minutes=5,
        min_samples=20,
        owner="rollout",
    ),
    AlertRuleSpec(
        name="Process memory",
        description="Resident memory of web and worker processes (runbook: 1,000 / 2,000 / 4,000 MB).",
        metric="process.rss_mb",
        group_by=("role",),
        aggregation="max",
        operator="gt",
        warning=1000,
        error=2000,
        critical=4000,
        window_minutes=5,
        min_samples=1,
        owner="rollout",
    ),
    AlertRuleSpec(
        name="Job failure rate",
        description="Share of background jobs that failed, per kind.",
        metric="jobs.finished",
        tags={"outcome": "failed"},
        denominator_metric="jobs.finished",
        group_by=("kind",),
        aggregation="ratio",
        operator="gt",
        warning=0.05,
        error=0.2,
        critical=0.5,
        window_minutes=30,
        min_samples=5,
        owner="rollout",
    ),
)


@transaction.atomic
def monitoring_sync_defaults() -> list[str]:
    """Create the default channel and rules that do not exist yet (by name); never change existing ones."""
    channel, _ = NotificationChannel.objects.get_or_create(name=LOG_CHANNEL, defaults={"kind": "log"})
    created = []
    for spec in (*PLATFORM_RULES, *registered_alert_rules()):
        rule, was_created = AlertRule.objects.get_or_create(name=spec.name, defaults=spec.model_fields())
        if was_created:
            rule.channels.add(channel)
            created.append(rule.name)
    return created

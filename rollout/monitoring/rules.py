"""Writes to alert rules by name (deployment as code): create or update one rule, or delete it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from core.errors import ServiceError
from rollout.monitoring.defaults import LOG_CHANNEL
from rollout.monitoring.models import AlertRule, NotificationChannel

RULE_FIELDS = (
    "description",
    "metric",
    "tags",
    "denominator_metric",
    "denominator_tags",
    "group_by",
    "aggregation",
    "operator",
    "warning",
    "error",
    "critical",
    "window_minutes",
    "interval_seconds",
    "min_samples",
    "recovery_minutes",
    "enabled",
)


def alert_rule_state(rule: AlertRule) -> dict[str, Any]:
    return {field: getattr(rule, field) for field in RULE_FIELDS}


@transaction.atomic
def alert_rule_apply(*, name: str, state: dict[str, Any] | None) -> AlertRule | None:
    """Make rule ``name`` have ``state`` (the fields of ``RULE_FIELDS``); ``None`` deletes it. A new rule
    notifies the ops log channel. Invalid values → ServiceError, nothing written."""
    rule = AlertRule.objects.select_for_update().filter(name=name).first()
    if state is None:
        if rule is not None:
            rule.delete()
        return None
    unknown = set(state) - set(RULE_FIELDS)
    if unknown:
        raise ServiceError("invalid_alert_rule", f"rule {name!r}: unknown fields {sorted(unknown)}")
    created = rule is None
    rule = rule or AlertRule(name=name)
    for field, value in state.items():
        setattr(rule, field, value)
    try:
        rule.full_clean(exclude=["channels"])
    except Exception as exc:
        raise ServiceError("invalid_alert_rule", f"rule {name!r}: {exc}") from exc
    rule.save()
    if created:
        channel, _ = NotificationChannel.objects.get_or_create(name=LOG_CHANNEL, defaults={"kind": "log"})
        rule.channels.add(channel)
    return rule

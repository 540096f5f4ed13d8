"""Monitoring's models moved from the ``rollout`` app label to ``monitoring`` (rollout 0005, monitoring 0001):
a database made before the move keeps every row, readable through the new models."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from rollout.models import Incident, Rollout
from rollout.monitoring.models import (
    Alert,
    AlertEvent,
    AlertRule,
    EvaluationLease,
    MetricMinute,
    Notification,
    NotificationChannel,
    RuleState,
)

BEFORE = [("rollout", "0004_monitoring")]


def _migrate(targets: list[tuple[str, str]] | None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_survive_it(make_user) -> None:
    user = make_user("staff", staff=True)
    executor = _migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    now = timezone.now()
    channel = old.get_model("rollout", "NotificationChannel").objects.create(name="pager", kind="log")
    rule = old.get_model("rollout", "AlertRule").objects.create(
        name="legacy rule", metric="m", aggregation="mean", operator="gt", critical=1.0
    )
    rule.channels.add(channel)
    old.get_model("rollout", "RuleState").objects.create(rule=rule, tags_key="", state="critical", samples=7)
    alert = old.get_model("rollout", "Alert").objects.create(
        rule=rule,
        severity="critical",
        peak_severity="critical",
        value=2.0,
        threshold=1.0,
        opened_at=now,
        last_breach_at=now,
        acknowledged_by_id=user.pk,
    )
    old.get_model("rollout", "AlertEvent").objects.create(alert=alert, kind="opened", actor_id=user.pk)
    old.get_model("rollout", "Notification").objects.create(
        channel=channel, alert=alert, subject="s", next_attempt_at=now
    )
    old.get_model("rollout", "MetricMinute").objects.create(metric="m", tags_key="", minute=now, min=1, max=2)
    old.get_model("rollout", "EvaluationLease").objects.create(name="legacy", held_until=now)
    flag = old.get_model("rollout", "Flag").objects.get(name="settings_page_enabled")
    rollout = old.get_model("rollout", "Rollout").objects.create(
        flag=flag, plan=[{"name": "s", "state": {}}], stage_entered_at=now, status="completed"
    )
    rollout.guard_rules.add(rule)
    old.get_model("rollout", "Incident").objects.create(rollout=rollout, alert=alert, action="pause", summary="x")

    _migrate(None)

    moved = AlertRule.objects.get(name="legacy rule")
    assert AlertRule._meta.app_label == "monitoring"
    assert [c.name for c in moved.channels.all()] == ["pager"]
    assert RuleState.objects.get(rule=moved).samples == 7
    new_alert = Alert.objects.get(rule=moved)
    assert new_alert.acknowledged_by_id == user.pk and new_alert.value == 2.0
    assert AlertEvent.objects.get(alert=new_alert).actor_id == user.pk
    assert Notification.objects.get(alert=new_alert).channel == NotificationChannel.objects.get(name="pager")
    assert MetricMinute.objects.filter(metric="m").count() == 1
    assert EvaluationLease.objects.filter(name="legacy").exists()
    assert list(Rollout.objects.get(pk=rollout.pk).guard_rules.all()) == [moved]
    assert Incident.objects.get(rollout_id=rollout.pk).alert == new_alert

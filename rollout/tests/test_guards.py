"""Guarded rollouts: automatic rollback (or pause) after N critical evaluations, incidents, gates."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from rollout import flags
from rollout.models import Incident, Rollout
from rollout.monitoring import flush, record_at
from rollout.monitoring.evaluation import rules_evaluate
from rollout.monitoring.models import AlertRule, Notification, NotificationChannel
from rollout.monitoring.notifications import notifications_deliver_due
from rollout.rollouts import GateFailed, rollout_advance, rollout_set_phase, rollout_start

pytestmark = pytest.mark.django_db
FLAG = "enhanced_trimp_calculation"


@pytest.fixture
def guard_rule() -> AlertRule:
    AlertRule.objects.update(enabled=False)
    rule = AlertRule.objects.create(
        name="guard: TRIMP errors",
        metric="trimp.calculations",
        tags={"outcome": "failure"},
        denominator_metric="trimp.calculations",
        aggregation="ratio",
        operator="gt",
        warning=0.02,
        critical=0.05,
        window_minutes=10,
        min_samples=20,
        recovery_minutes=5,
    )
    channel = NotificationChannel.objects.create(name="ops mail", kind="email", target="ops@example.com")
    rule.channels.add(channel)
    return rule


def _traffic(now: Any, failures: int, successes: int) -> None:
    """Calculations made under the flag for exposed users (tagged ``flag``, as training records them)."""
    for _ in range(failures):
        record_at(now, "trimp.calculations", 1, method="stream", outcome="failure", flag=FLAG)
    for _ in range(successes):
        record_at(now, "trimp.calculations", 1, method="stream", outcome="success", flag=FLAG)
    flush()


def _guarded_rollout(rule: AlertRule, *, policy: str = "rollback", stage: str = "percent_25") -> Rollout:
    outcome = rollout_start(flag_name=FLAG, actor=None, reason="ship", guard_policy=policy)
    rollout = outcome.rollout
    rollout.guard_rules.add(rule)
    rollout.guard_consecutive = 3
    rollout.save()
    rollout_set_phase(flag_name=FLAG, phase=stage, actor=None, reason="setup")  # no traffic before: not exposed
    rollout.refresh_from_db()
    return rollout


def test_critical_breach_held_for_n_evaluations_rolls_back(guard_rule: AlertRule, demo_users: Any) -> None:
    rollout = _guarded_rollout(guard_rule)
    now = timezone.now()
    _traffic(now, failures=10, successes=90)  # 10 % > 5 % critical
    for minute in range(2):
        report = rules_evaluate(now=now + timedelta(minutes=minute), force=True)
        assert report.incidents == []
    rollout.refresh_from_db()
    assert rollout.current_stage_name == "percent_25"
    report = rules_evaluate(now=now + timedelta(minutes=2), force=True)  # third critical evaluation
    assert len(report.incidents) == 1
    rollout.refresh_from_db()
    assert rollout.current_stage_name == "percent_5"
    incident = Incident.objects.get()
    transition = incident.transition
    assert transition is not None and transition.kind == "rollback" and transition.source == "guard"
    assert transition.details["alert_id"] == incident.alert_id
    assert guard_rule.name in transition.reason and "3 evaluations" in transition.reason
    assert incident.alert.severity == "critical"
    # the flag followed: percent 5 now
    assert flags.evaluate(FLAG, user_id=demo_users.regular.pk)[0] is (flags.bucket(FLAG, demo_users.regular.pk) <= 5)
    # the notification about the rollback is queued and delivered by e-mail
    subjects = list(Notification.objects.values_list("subject", flat=True))
    assert any("automatic rollback (percent_25 → percent_5)" in s for s in subjects)
    notifications_deliver_due()
    assert any("automatic rollback" in m.subject for m in mail.outbox)
    # the same alert does not roll back again on the next evaluation
    rules_evaluate(now=now + timedelta(minutes=3), force=True)
    assert Incident.objects.count() == 1
    assert Rollout.objects.get().current_stage_name == "percent_5"


def test_pause_policy_pauses_instead(guard_rule: AlertRule) -> None:
    rollout = _guarded_rollout(guard_rule, policy="pause")
    now = timezone.now()
    _traffic(now, failures=30, successes=70)
    for minute in range(3):
        rules_evaluate(now=now + timedelta(minutes=minute), force=True)
    rollout.refresh_from_db()
    assert rollout.status == "paused" and rollout.current_stage_name == "percent_25"
    incident = Incident.objects.get()
    assert incident.action == "pause" and incident.transition.kind == "pause"


def test_guard_gate_blocks_advance_on_open_critical_alert(guard_rule: AlertRule) -> None:
    _guarded_rollout(guard_rule, stage="percent_5")
    now = timezone.now()
    _traffic(now, failures=10, successes=90)
    rules_evaluate(now=now, force=True)
    with pytest.raises(GateFailed) as blocked:
        rollout_advance(flag_name=FLAG, actor=None, reason="go")
    gates = {g["name"]: g for g in blocked.value.details["gates"]}
    assert gates["guard.no_critical_alert"]["passed"] is False
    assert guard_rule.name in gates["guard.no_critical_alert"]["detail"]


def test_guard_gate_needs_samples_and_dwell(guard_rule: AlertRule) -> None:
    rollout = _guarded_rollout(guard_rule, stage="percent_5")
    rollout.min_dwell_minutes = 30
    rollout.save()
    with pytest.raises(GateFailed) as blocked:
        rollout_advance(flag_name=FLAG, actor=None, reason="go")
    gates = {g["name"]: g for g in blocked.value.details["gates"]}
    assert gates["guard.min_dwell"]["passed"] is False
    assert gates[f"guard.min_samples.{guard_rule.name}"]["passed"] is False
    Rollout.objects.filter(pk=rollout.pk).update(stage_entered_at=timezone.now() - timedelta(hours=1))
    _traffic(timezone.now(), failures=0, successes=50)
    rules_evaluate(force=True)
    outcome = rollout_advance(flag_name=FLAG, actor=None, reason="healthy")
    assert outcome.transition.to_stage == "percent_25"
    assert {g["name"] for g in outcome.transition.gate_results} >= {"guard.min_dwell", "guard.no_critical_alert"}


class _FlakyHook(BaseHTTPRequestHandler):
    failures_left = 2
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _FlakyHook.failures_left > 0:
            _FlakyHook.failures_left -= 1
            self.send_response(500)
            self.end_headers()
            return
        _FlakyHook.received.append(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Any:
    _FlakyHook.failures_left = 2
    _FlakyHook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()


def test_webhook_failures_retry_with_backoff_and_never_block_evaluation(webhook: str) -> None:
    AlertRule.objects.update(enabled=False)
    rule = AlertRule.objects.create(name="hooked", metric="m", aggregation="max", operator="gt", critical=10)
    rule.channels.add(NotificationChannel.objects.create(name="hook", kind="webhook", target=webhook, max_attempts=5))
    dead = NotificationChannel.objects.create(
        name="dead hook", kind="webhook", target="http://127.0.0.1:9/x", timeout_seconds=0.5, max_attempts=2
    )
    rule.channels.add(dead)
    now = timezone.now()
    record_at(now, "m", 50)
    flush()
    rules_evaluate(now=now, force=True)  # writes notification rows only; nothing is sent inline
    notification = Notification.objects.get(channel__name="hook")
    assert notification.status == "pending" and notification.attempts == 0
    now = timezone.now()
    notifications_deliver_due(now=now)
    notification.refresh_from_db()
    assert notification.status == "pending" and notification.attempts == 1 and "500" in notification.last_error
    first_retry = notification.next_attempt_at
    assert first_retry > now
    notifications_deliver_due(now=first_retry)
    notification.refresh_from_db()
    assert notification.attempts == 2 and notification.next_attempt_at - first_retry > first_retry - now
    notifications_deliver_due(now=notification.next_attempt_at)
    notification.refresh_from_db()
    assert notification.status == "sent" and notification.attempts == 3
    assert _FlakyHook.received[0]["rule"] == "hooked" and _FlakyHook.received[0]["severity"] == "critical"
    failed = Notification.objects.get(channel=dead)
    notifications_deliver_due(now=now + timedelta(hours=1))
    failed.refresh_from_db()
    assert failed.status == "failed" and failed.attempts == 2


def test_guards_configured_through_api_and_command(staff_client: Any, guard_rule: AlertRule) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    response = staff_client.post(
        "/api/admin/rollouts",
        {
            "flag": FLAG,
            "reason": "guarded",
            "guard_rules": [guard_rule.name],
            "guard_consecutive": 2,
            "min_dwell_minutes": 15,
            "guard_policy": "pause",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["guard_rules"] == [guard_rule.name] and body["guard_consecutive"] == 2
    assert body["min_dwell_minutes"] == 15 and body["guard_policy"] == "pause"
    bad = staff_client.patch(f"/api/admin/rollouts/{FLAG}", {"guard_rules": ["nope"]}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_rule"
    ok = staff_client.patch(f"/api/admin/rollouts/{FLAG}", {"guard_consecutive": 4}, format="json")
    assert ok.json()["guard_consecutive"] == 4
    call_command("rollout", "rollback", FLAG, "--all", "--reason", "x", stdout=StringIO())
    Rollout.objects.update(status="aborted")
    with pytest.raises(CommandError, match="unknown_rule"):
        call_command("rollout", "start", FLAG, "--guard", "nope", stdout=StringIO())
    assert not Rollout.objects.filter(status="active").exists()
    call_command("rollout", "start", FLAG, "--guard", guard_rule.name, "--guard-consecutive", "5", stdout=StringIO())
    assert Rollout.objects.get(status="active").guard_consecutive == 5


def test_guards_keep_watching_a_completed_rollout_in_its_monitoring_stage(guard_rule: AlertRule) -> None:
    rollout = _guarded_rollout(guard_rule, stage="monitoring")
    assert rollout.status == "completed"
    now = timezone.now()
    _traffic(now, failures=20, successes=80)
    for minute in range(3):
        rules_evaluate(now=now + timedelta(minutes=minute), force=True)
    rollout.refresh_from_db()
    assert rollout.current_stage_name == "general_release" and rollout.status == "active"
    assert Incident.objects.get().transition.kind == "rollback"

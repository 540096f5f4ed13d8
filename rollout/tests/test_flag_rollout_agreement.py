"""Issue #14, items 1–3: a kill stays killed, a manual change pauses the rollout (and every surface says so),
and the guards' gates count what matters, say what is missing, and can be overridden with a reason."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from rollout import flags
from rollout.models import Flag, FlagHistory, Incident, Rollout, RolloutTransition
from rollout.monitoring import flush, record_at
from rollout.monitoring.evaluation import rules_evaluate
from rollout.monitoring.models import AlertRule
from rollout.rollouts import GateFailed, rollout_advance, rollout_resume, rollout_set_phase, rollout_start
from rollout.services import flag_kill_lift, flag_toggle

pytestmark = pytest.mark.django_db
FLAG = "enhanced_trimp_calculation"


@pytest.fixture
def rule() -> AlertRule:
    AlertRule.objects.update(enabled=False)
    return AlertRule.objects.create(
        name="guard: errors",
        metric="trimp.calculations",
        tags={"outcome": "failure"},
        denominator_metric="trimp.calculations",
        aggregation="ratio",
        operator="gt",
        critical=0.05,
        window_minutes=10,
        min_samples=20,
    )


def _guarded(rule: AlertRule, stage: str = "percent_25") -> Rollout:
    rollout = rollout_start(flag_name=FLAG, actor=None, reason="ship").rollout
    rollout.guard_rules.add(rule)
    rollout.guard_consecutive = 2
    rollout.save()
    rollout_set_phase(flag_name=FLAG, phase=stage, actor=None, reason="setup")
    return Rollout.objects.get(pk=rollout.pk)


def _traffic(now: Any, *, failures: int, successes: int, exposed: bool = True) -> None:
    tags = {"method": "stream", "flag": FLAG} if exposed else {"method": "average_hr"}
    for _ in range(failures):
        record_at(now, "trimp.calculations", 1, outcome="failure", **tags)
    for _ in range(successes):
        record_at(now, "trimp.calculations", 1, outcome="success", **tags)
    flush()


def _anyone_on(users: Any) -> bool:
    flags.invalidate_local()
    return any(flags.evaluate(FLAG, user_id=u.pk)[0] for u in [*users.all_athletes, users.admin, *users.beta])


# --- 1. a kill stays killed ----------------------------------------------------------------------------------


def test_a_kill_over_the_api_survives_every_guard_run(rule: AlertRule, demo_users: Any, staff_client: Any) -> None:
    _guarded(rule)
    now = timezone.now()
    _traffic(now, failures=30, successes=70)  # critical, and it keeps firing
    killed = staff_client.post(f"/api/admin/feature-flags/{FLAG}/toggle", {"enabled": False, "reason": "errors"})
    assert killed.status_code == 200 and killed.json()["flag"]["killed"] is True
    for minute in range(6):  # well past guard_consecutive
        rules_evaluate(now=now + timedelta(minutes=minute), force=True)
        assert Flag.objects.get(name=FLAG).everyone is False
        assert not _anyone_on(demo_users)
    assert Incident.objects.count() == 0  # the kill paused the rollout: the guard has nothing to undo
    assert Rollout.objects.get().status == "paused"


def test_automatic_moves_never_lift_a_kill_and_lifting_is_explicit(
    rule: AlertRule, demo_users: Any, staff_client: Any
) -> None:
    _guarded(rule)
    flag_toggle(name=FLAG, enabled=False, actor=demo_users.admin, source="api", reason="errors")
    rollout_resume(flag_name=FLAG, actor=demo_users.admin, reason="let the guard watch again")  # kill not lifted
    now = timezone.now()
    _traffic(now, failures=30, successes=70)
    for minute in range(4):
        rules_evaluate(now=now + timedelta(minutes=minute), force=True)
    rollout = Rollout.objects.get()
    assert rollout.current_stage_name == "percent_5"  # the guard rolled back (one incident) ...
    assert Incident.objects.count() == 1
    assert Flag.objects.get(name=FLAG).everyone is False and not _anyone_on(demo_users)  # ... the kill held
    flag = Flag.objects.get(name=FLAG)
    assert flag.percent == 5  # the stage's targeting sits underneath the kill

    refused = staff_client.post(f"/api/admin/feature-flags/{FLAG}/lift-kill", {"reason": ""}, format="json")
    assert refused.status_code == 400
    lifted = staff_client.post(f"/api/admin/feature-flags/{FLAG}/lift-kill", {"reason": "fixed"}, format="json")
    assert lifted.status_code == 200 and lifted.json()["flag"]["killed"] is False
    assert FlagHistory.objects.filter(flag_name=FLAG, reason="kill lifted: fixed").exists()
    flags.invalidate_local()
    regular = demo_users.regular
    assert flags.evaluate(FLAG, user_id=regular.pk)[0] is (flags.bucket(FLAG, regular.pk) <= 5)
    with pytest.raises(Exception, match="not killed"):
        flag_kill_lift(name=FLAG, actor=None, source="api", reason="again")


# --- 2. drift: a manual change pauses the rollout -----------------------------------------------------------


def test_a_cohort_toggle_pauses_the_rollout_and_every_surface_says_so(
    rule: AlertRule, demo_users: Any, staff_client: Any
) -> None:
    _guarded(rule, stage="beta_rollout")
    response = staff_client.post(
        f"/api/admin/feature-flags/{FLAG}/toggle",
        {"user_type": "beta", "enabled": False, "reason": "beta testers report errors"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["flag"]["rollout"]["status"] == "paused"
    pause = RolloutTransition.objects.filter(kind="pause").get()
    assert pause.actor == staff_client.user and pause.details["cause"] == "manual_flag_change"
    assert "beta testers report errors" in pause.reason and pause.details["changed"] == ["groups"]
    detail = staff_client.get(f"/api/admin/rollouts/{FLAG}").json()
    assert detail["status"] == "paused" and detail["transitions"][0]["kind"] == "pause"
    out = StringIO()
    call_command("rollout", "status", FLAG, stdout=out)
    assert "[paused" in out.getvalue() and "manual flag change" in out.getvalue()

    # automatic moves leave the person's change alone while the rollout is paused
    now = timezone.now()
    _traffic(now, failures=30, successes=70)
    for minute in range(4):
        rules_evaluate(now=now + timedelta(minutes=minute), force=True)
    assert not Flag.objects.get(name=FLAG).groups.filter(name="beta").exists()
    with pytest.raises(Exception, match="paused"):
        rollout_advance(flag_name=FLAG, actor=None, reason="go")


def test_kill_state_is_shown_by_the_command_and_the_api(rule: AlertRule, staff_client: Any) -> None:
    _guarded(rule)
    staff_client.post(f"/api/admin/feature-flags/{FLAG}/toggle", {"enabled": False}, format="json")
    out = StringIO()
    call_command("rollout", "status", FLAG, stdout=out)
    assert "FLAG KILLED" in out.getvalue() and "[paused" in out.getvalue()
    flag = staff_client.get(f"/api/admin/feature-flags/{FLAG}").json()
    assert flag["killed"] is True and flag["rollout"]["status"] == "paused"


# --- 3. gates a person can act on ----------------------------------------------------------------------------


def test_min_samples_counts_only_calculations_under_the_flag(rule: AlertRule) -> None:
    rollout = _guarded(rule, stage="percent_5")
    Rollout.objects.filter(pk=rollout.pk).update(stage_entered_at=timezone.now() - timedelta(minutes=5))
    _traffic(timezone.now(), failures=0, successes=200, exposed=False)  # plenty of traffic, none exposed
    with pytest.raises(GateFailed) as blocked:
        rollout_advance(flag_name=FLAG, actor=None, reason="go")
    gate = {g["name"]: g for g in blocked.value.details["gates"]}[f"guard.min_samples.{rule.name}"]
    assert gate["passed"] is False
    assert "0 of 20" in gate["detail"] and "20 missing" in gate["detail"]
    _traffic(timezone.now(), failures=0, successes=12)
    with pytest.raises(GateFailed) as still:
        rollout_advance(flag_name=FLAG, actor=None, reason="go")
    detail = {g["name"]: g for g in still.value.details["gates"]}[f"guard.min_samples.{rule.name}"]["detail"]
    assert "12 of 20" in detail and "likely met around" in detail
    _traffic(timezone.now(), failures=0, successes=8)
    assert rollout_advance(flag_name=FLAG, actor=None, reason="enough").transition.to_stage == "percent_25"


def test_a_failing_gate_can_be_overridden_with_a_reason(rule: AlertRule, staff_client: Any) -> None:
    _guarded(rule, stage="percent_5")
    name = f"guard.min_samples.{rule.name}"
    url = f"/api/admin/rollouts/{FLAG}/advance"
    no_reason = staff_client.post(url, {"reason": "go", "override": [name]}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["error"]["code"] == "override_reason_required"
    body = {"reason": "go", "override": [name], "override_reason": "low traffic at night; watched by hand"}
    moved = staff_client.post(url, body, format="json")
    assert moved.status_code == 200, moved.json()
    transition = moved.json()["transition"]
    assert transition["details"]["overridden_gates"] == [name]
    assert transition["details"]["overridden_by"] == staff_client.user.username
    gate = {g["name"]: g for g in transition["gate_results"]}[name]
    assert gate["passed"] is True and gate["detail"].startswith("OVERRIDDEN by")


@override_settings(ROLLOUT_MIN_DWELL_MINUTES=30)
def test_exposed_stages_need_a_minimum_dwell() -> None:
    rollout_start(flag_name=FLAG, actor=None, reason="ship")
    rollout_set_phase(flag_name=FLAG, phase="beta_rollout", actor=None, reason="beta")  # from a dark stage: no dwell
    with pytest.raises(GateFailed) as blocked:
        rollout_set_phase(flag_name=FLAG, phase="general_release", actor=None, reason="6 s later")
    gate = {g["name"]: g for g in blocked.value.details["gates"]}["guard.min_dwell"]
    assert (
        gate["passed"] is False
        and "of 30 min at beta_rollout" in gate["detail"]
        and "may advance from" in gate["detail"]
    )
    Rollout.objects.update(stage_entered_at=timezone.now() - timedelta(minutes=31))
    assert rollout_set_phase(flag_name=FLAG, phase="percent_5", actor=None, reason="later").transition.to_stage == (
        "percent_5"
    )

"""Staged rollouts: start, advance through gates, set-phase, rollback without gates, pause, concurrency."""

from __future__ import annotations

import threading
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from rollout import flags
from rollout.gates import GateContext, GateResult, register_gate, unregister_gate
from rollout.models import Rollout, RolloutTransition

FLAG = "enhanced_trimp_calculation"
BASE = f"/api/admin/rollouts/{FLAG}"


@pytest.fixture
def ops(demo_users: Any, client_for: Any) -> Any:
    return client_for(demo_users.admin)


@pytest.fixture
def failing_gate() -> Any:
    calls: list[GateContext] = []

    def gate(context: GateContext) -> GateResult:
        calls.append(context)
        return GateResult("fake_health", False, "error rate 12 % > 5 %")

    register_gate("fake_health", gate, order=50)
    yield calls
    unregister_gate("fake_health")


def _start(ops: Any, **extra: Any) -> Any:
    response = ops.post("/api/admin/rollouts", {"flag": FLAG, "reason": "ship it", **extra}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.mark.django_db
def test_walk_the_default_plan(ops: Any, demo_users: Any) -> None:
    started = _start(ops)
    assert started["stage"] == "pre_deployment" and started["stages"][-1] == "monitoring"
    seen = []
    for _ in range(8):
        response = ops.post(f"{BASE}/advance", {"reason": "healthy"}, format="json")
        assert response.status_code == 200, response.json()
        transition = response.json()["transition"]
        assert all(g["passed"] for g in transition["gate_results"]) and transition["gate_results"]
        seen.append(transition["to"])
        answers = (
            flags.is_feature_enabled(FLAG, demo_users.admin.pk),
            flags.is_feature_enabled(FLAG, demo_users.beta[0].pk),
        )
        if transition["to"] == "admin_testing":
            assert answers == (True, False)
        if transition["to"] == "beta_rollout":
            assert answers == (True, True)
    assert seen == [
        "deployed_disabled",
        "admin_testing",
        "beta_rollout",
        "percent_5",
        "percent_25",
        "percent_50",
        "general_release",
        "monitoring",
    ]
    assert flags.evaluate(FLAG, user_id=demo_users.regular.pk) == (True, "percent")
    done = ops.get(BASE).json()
    assert done["status"] == "completed"
    assert ops.post(f"{BASE}/advance", {"reason": "more"}, format="json").status_code == 404


@pytest.mark.django_db
def test_percent_stage_matches_buckets(ops: Any, make_user: Any) -> None:
    users = [make_user() for _ in range(60)]
    _start(ops)
    ops.post(f"{BASE}/set-phase", {"phase": "percent_25", "reason": "jump"}, format="json")
    for user in users:
        expected = flags.bucket(FLAG, user.pk) <= 25
        assert flags.is_feature_enabled(FLAG, user.pk) is expected


@pytest.mark.django_db
def test_a_failing_gate_blocks_advance_with_the_reason(ops: Any, failing_gate: Any) -> None:
    _start(ops)
    response = ops.post(f"{BASE}/advance", {"reason": "go"}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "gate_failed" and "error rate 12 % > 5 %" in error["message"]
    assert any(g["name"] == "fake_health" and not g["passed"] for g in error["details"]["gates"])
    rollout = Rollout.objects.get()
    assert rollout.current_stage_name == "pre_deployment"
    blocked = RolloutTransition.objects.get(blocked=True)
    assert blocked.to_stage == "deployed_disabled" and blocked.reason == "go"
    assert failing_gate[0].from_stage == "pre_deployment" and failing_gate[0].to_stage == "deployed_disabled"


@pytest.mark.django_db
def test_rollback_passes_regardless_of_gates(ops: Any, demo_users: Any) -> None:
    _start(ops)
    ops.post(f"{BASE}/set-phase", {"phase": "percent_50", "reason": "fast"}, format="json")
    register_gate("fake_health", lambda c: GateResult("fake_health", False, "down"), order=50)
    try:
        one = ops.post(f"{BASE}/rollback", {"reason": "errors"}, format="json")
        assert one.status_code == 200 and one.json()["transition"]["to"] == "percent_25"
        assert one.json()["transition"]["gate_results"] == []
        to = ops.post(f"{BASE}/rollback", {"reason": "more errors", "to": "admin_testing"}, format="json")
        assert to.json()["rollout"]["stage"] == "admin_testing"
        assert flags.is_feature_enabled(FLAG, demo_users.beta[0].pk) is False
        kill = ops.post(f"{BASE}/rollback", {"reason": "stop", "all": True}, format="json")
        assert kill.json()["transition"]["kind"] == "kill"
        assert flags.evaluate(FLAG, user_id=demo_users.admin.pk) == (False, "killed")
        blocked = ops.post(f"{BASE}/advance", {"reason": "retry"}, format="json")
        assert blocked.status_code == 409
    finally:
        unregister_gate("fake_health")
    kinds = list(RolloutTransition.objects.filter(blocked=False).order_by("id").values_list("kind", flat=True))
    assert kinds == ["start", "set_phase", "rollback", "rollback", "kill"]


@pytest.mark.django_db
def test_set_phase_backwards_is_a_rollback_without_gates(ops: Any, failing_gate: Any) -> None:
    _start(ops, plan=["pre_deployment", "admin_testing", "general_release"])
    unregister_gate("fake_health")
    ops.post(f"{BASE}/set-phase", {"phase": "general_release", "reason": "go"}, format="json")
    register_gate("fake_health", lambda c: GateResult("fake_health", False, "down"), order=50)
    response = ops.post(f"{BASE}/set-phase", {"phase": "admin_testing", "reason": "back"}, format="json")
    assert response.status_code == 200 and response.json()["transition"]["kind"] == "rollback"


@pytest.mark.django_db
def test_pause_blocks_forward_moves(ops: Any) -> None:
    _start(ops)
    assert ops.post(f"{BASE}/pause", {"reason": "watch"}, format="json").status_code == 200
    assert ops.post(f"{BASE}/advance", {"reason": "go"}, format="json").json()["error"]["code"] == "rollout_paused"
    assert ops.post(f"{BASE}/rollback", {"reason": "x", "all": True}, format="json").status_code == 200
    assert ops.post(f"{BASE}/resume", {"reason": "ok"}, format="json").status_code == 200
    assert ops.post(f"{BASE}/advance", {"reason": "go"}, format="json").status_code == 200


@pytest.mark.django_db
def test_bad_requests(ops: Any) -> None:
    assert ops.post("/api/admin/rollouts", {"flag": "nope", "reason": "x"}, format="json").status_code == 404
    bad_plan = ops.post("/api/admin/rollouts", {"flag": FLAG, "reason": "x", "plan": ["warp"]}, format="json")
    assert bad_plan.status_code == 400 and bad_plan.json()["error"]["code"] == "invalid_plan"
    assert Rollout.objects.count() == 0
    assert ops.post("/api/admin/rollouts", {"flag": FLAG}, format="json").status_code == 400
    _start(ops)
    again = ops.post("/api/admin/rollouts", {"flag": FLAG, "reason": "x"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "rollout_exists"
    assert ops.post(f"{BASE}/advance", {}, format="json").status_code == 400
    assert ops.post(f"{BASE}/set-phase", {"phase": "warp", "reason": "x"}, format="json").status_code == 400
    assert ops.post(f"{BASE}/rollback", {"reason": "x"}, format="json").json()["error"]["code"] == "at_first_stage"
    stale = ops.post(f"{BASE}/advance", {"reason": "x", "expected_stage": "beta_rollout"}, format="json")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stage_changed"


@pytest.mark.django_db
def test_custom_plan_with_states(ops: Any, demo_users: Any) -> None:
    plan = [{"name": "off", "state": {}}, {"name": "coaches_first", "state": {"admin": True, "percent": 10}}]
    _start(ops, plan=plan)
    ops.post(f"{BASE}/advance", {"reason": "go"}, format="json")
    assert flags.evaluate(FLAG, user_id=demo_users.admin.pk)[0] is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_advance_requests_produce_one_transition(demo_users: Any, client_for: Any) -> None:
    if connection.vendor == "sqlite":
        pass  # SQLite serialises writers (BEGIN IMMEDIATE); PostgreSQL uses SELECT ... FOR UPDATE
    ops = client_for(demo_users.admin)
    _start(ops)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def advance() -> None:
        from django.db import connections

        client = client_for(demo_users.admin)
        barrier.wait()
        try:
            response = client.post(
                f"{BASE}/advance", {"reason": "double click", "expected_stage": "pre_deployment"}, format="json"
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=advance) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200, 409, 409, 409]
    assert RolloutTransition.objects.filter(kind="advance", blocked=False).count() == 1
    assert Rollout.objects.get().current_stage_name == "deployed_disabled"


@pytest.mark.django_db
def test_rollout_commands(demo_users: Any) -> None:
    out = StringIO()
    call_command("rollout", "start", FLAG, "--reason", "ship", "--as", "admin", stdout=out)
    assert "start - → pre_deployment" in out.getvalue()
    out = StringIO()
    call_command("rollout", "advance", FLAG, "--reason", "ok", stdout=out)
    assert "deployed_disabled" in out.getvalue() and "gate pre_deployment.database: pass" in out.getvalue()
    call_command("rollout", "set-phase", FLAG, "beta_rollout", "--reason", "beta", stdout=StringIO())
    assert flags.is_feature_enabled(FLAG, demo_users.beta[1].pk)
    call_command("rollout", "rollback", FLAG, "--reason", "oops", stdout=StringIO())
    call_command("rollout", "rollback", FLAG, "--all", "--reason", "stop", stdout=StringIO())
    out = StringIO()
    call_command("rollout", "status", FLAG, stdout=out)
    assert "▶ pre_deployment" in out.getvalue() and "kill" in out.getvalue()
    with pytest.raises(CommandError, match="unknown_phase"):
        call_command("rollout", "set-phase", FLAG, "warp", "--reason", "x")
    with pytest.raises(CommandError, match=r"rollout_not_found|flag_not_found"):
        call_command("rollout", "advance", "no_such_flag", "--reason", "x")
    register_gate("fake_health", lambda c: GateResult("fake_health", False, "p95 too slow"), order=50)
    try:
        err = StringIO()
        with pytest.raises(CommandError, match="gate_failed"):
            call_command("rollout", "advance", FLAG, "--reason", "x", stderr=err)
        assert "fake_health: FAIL — p95 too slow" in err.getvalue()
    finally:
        unregister_gate("fake_health")


@pytest.mark.django_db
@pytest.mark.parametrize("validation_type", ["pre_deployment", "post_deployment"])
def test_deployment_validation(ops: Any, validation_type: str) -> None:
    response = ops.post("/api/admin/deployment/validate", {"validation_type": validation_type}, format="json")
    assert response.status_code == 200
    body = response.json()
    names = {c["name"] for c in body["checks"]}
    assert {"database", "migrations", "schema", "flags", "cache", "broker", "tasks"} <= names
    assert body["passed"] is True, body
    if validation_type == "post_deployment":
        assert {"schedules", "jobs", "flag_evaluation"} <= names


@pytest.mark.django_db
def test_deployment_validation_bad_body(ops: Any) -> None:
    response = ops.post("/api/admin/deployment/validate", {"validation_type": "sideways"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"

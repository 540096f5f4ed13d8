"""The runbooks' flag API replayed end to end: emergency rollback and gradual rollback, with audit rows."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from rollout import flags
from rollout.models import FlagHistory

pytestmark = pytest.mark.django_db
FLAG = "enhanced_trimp_calculation"
TOGGLE = f"/api/admin/feature-flags/{FLAG}/toggle"


@pytest.fixture
def ops(demo_users: Any, client_for: Any) -> Any:
    return client_for(demo_users.admin)


def _answers(users: Any) -> dict[str, bool]:
    return {
        "admin": flags.is_feature_enabled(FLAG, users.admin.pk),
        "beta": flags.is_feature_enabled(FLAG, users.beta[0].pk),
        "regular": flags.is_feature_enabled(FLAG, users.regular.pk),
    }


def _enable_all(ops: Any) -> None:
    for user_type in ("admin", "beta", "regular"):
        response = ops.post(TOGGLE, {"user_type": user_type, "enabled": True, "reason": "release"}, format="json")
        assert response.status_code == 200, response.json()


def test_flags_list_shows_cohorts(ops: Any) -> None:
    _enable_all(ops)
    body = ops.get("/api/admin/feature-flags").json()
    flag = next(f for f in body["flags"] if f["name"] == FLAG)
    assert flag["cohorts"] == {"admin": True, "beta": True, "regular": True}
    assert flag["percent"] == 100 and flag["killed"] is False
    assert flag["window"]["active_now"] is True and flag["rollout"] is None


def test_emergency_rollback(ops: Any, demo_users: Any) -> None:
    _enable_all(ops)
    assert _answers(demo_users) == {"admin": True, "beta": True, "regular": True}
    response = ops.post(TOGGLE, {"enabled": False, "reason": "wrong numbers"}, format="json")
    assert response.status_code == 200
    assert response.json()["flag"]["killed"] is True
    assert _answers(demo_users) == {"admin": False, "beta": False, "regular": False}
    assert flags.evaluate(FLAG, user_id=demo_users.admin.pk) == (False, "killed")
    kill = FlagHistory.objects.filter(flag_name=FLAG).order_by("-id").first()
    assert kill is not None and kill.reason == "wrong numbers" and kill.actor == demo_users.admin
    assert kill.changed_fields == ["everyone"]
    # targeting survived the kill: re-enabling restores all three cohorts
    ops.post(TOGGLE, {"enabled": True, "reason": "fixed"}, format="json")
    assert _answers(demo_users) == {"admin": True, "beta": True, "regular": True}


def test_emergency_rollback_cohort_by_cohort_as_in_the_runbook(ops: Any, demo_users: Any) -> None:
    _enable_all(ops)
    for user_type in ("admin", "beta", "regular"):
        ops.post(TOGGLE, {"user_type": user_type, "enabled": False}, format="json")
    assert _answers(demo_users) == {"admin": False, "beta": False, "regular": False}


def test_gradual_rollback_regular_then_beta_then_admin(ops: Any, demo_users: Any) -> None:
    _enable_all(ops)
    before = FlagHistory.objects.filter(flag_name=FLAG).count()
    ops.post(TOGGLE, {"user_type": "regular", "enabled": False, "reason": "step 1"}, format="json")
    assert _answers(demo_users) == {"admin": True, "beta": True, "regular": False}
    ops.post(TOGGLE, {"user_type": "beta", "enabled": False, "reason": "step 2"}, format="json")
    assert _answers(demo_users) == {"admin": True, "beta": False, "regular": False}
    ops.post(TOGGLE, {"user_type": "admin", "enabled": False, "reason": "step 3"}, format="json")
    assert _answers(demo_users) == {"admin": False, "beta": False, "regular": False}
    rows = list(FlagHistory.objects.filter(flag_name=FLAG).order_by("id"))[before:]
    assert [(r.reason, r.changed_fields) for r in rows] == [
        ("step 1", ["percent"]),
        ("step 2", ["groups"]),
        ("step 3", ["staff", "superusers"]),
    ]
    assert all(r.actor == demo_users.admin and r.source == "api" for r in rows)


def test_toggle_errors(ops: Any) -> None:
    missing = ops.post("/api/admin/feature-flags/nope/toggle", {"enabled": False}, format="json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "flag_not_found"
    bad = ops.post(TOGGLE, {"user_type": "vip", "enabled": True}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    no_enabled = ops.post(TOGGLE, {"user_type": "beta"}, format="json")
    assert no_enabled.status_code == 400


def test_staff_only(demo_users: Any, client_for: Any) -> None:
    athlete = client_for(demo_users.regular)
    assert athlete.get("/api/admin/feature-flags").status_code == 403
    assert athlete.post(TOGGLE, {"enabled": False}, format="json").status_code == 403
    anonymous = APIClient()
    assert anonymous.get("/api/admin/feature-flags").status_code == 401
    assert anonymous.post(TOGGLE, {"enabled": False}, format="json").status_code == 401


def test_patch_and_check_and_history(ops: Any, demo_users: Any) -> None:
    response = ops.patch(
        f"/api/admin/feature-flags/{FLAG}", {"percent": 100, "reason": "all regular users"}, format="json"
    )
    assert response.status_code == 200 and response.json()["changed"] == ["percent"]
    check = ops.get(f"/api/admin/feature-flags/{FLAG}/check?user_id={demo_users.regular.pk}").json()
    assert check["enabled"] is True and check["reason"] == "percent" and 1 <= check["bucket"] <= 100
    detail = ops.get(f"/api/admin/feature-flags/{FLAG}").json()
    assert detail["history"][0]["reason"] == "all regular users"
    bad = ops.patch(f"/api/admin/feature-flags/{FLAG}", {"percent": 101, "reason": "x"}, format="json")
    assert bad.status_code == 400
    no_reason = ops.patch(f"/api/admin/feature-flags/{FLAG}", {"percent": 5}, format="json")
    assert no_reason.status_code == 400
    assert ops.get(f"/api/admin/feature-flags/{FLAG}/check?user_id=abc").status_code == 400

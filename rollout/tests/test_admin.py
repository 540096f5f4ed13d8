"""The ops console: flag badges, edits with a reason in the history, rollout page buttons."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rollout.models import Flag, FlagHistory, Rollout, RolloutTransition
from rollout.rollouts import rollout_start

pytestmark = pytest.mark.django_db
FLAG = "enhanced_trimp_calculation"


@pytest.fixture
def console(demo_users: Any) -> Client:
    client = Client()
    client.force_login(demo_users.admin)
    return client


def test_flag_list_shows_cohort_badges_and_stage(console: Client, demo_users: Any) -> None:
    rollout_start(flag_name=FLAG, actor=demo_users.admin, reason="go")
    html = console.get("/admin/rollout/flag/").content.decode()
    assert "admin off" in html and "beta off" in html and "pre_deployment (active)" in html


def test_admin_edit_requires_a_reason_and_writes_history(console: Client, demo_users: Any) -> None:
    flag = Flag.objects.get(name=FLAG)
    url = f"/admin/rollout/flag/{flag.pk}/change/"
    form = {"name": FLAG, "description": "x", "everyone": "unknown", "percent": "10", "note": ""}
    missing_reason = console.post(url, form)
    assert missing_reason.status_code == 200  # the form is shown again with the error
    flag.refresh_from_db()
    assert flag.percent is None
    response = console.post(url, {**form, "change_reason": "try 10 %"})
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.percent == 10
    row = FlagHistory.objects.filter(flag_name=FLAG, source="admin").get()
    assert row.reason == "try 10 %" and row.actor == demo_users.admin and row.changed_fields == ["percent"]


def test_kill_action_needs_a_reason(console: Client) -> None:
    flag = Flag.objects.get(name=FLAG)
    data = {"action": "kill_flags", "_selected_action": [flag.pk], "reason": ""}
    console.post("/admin/rollout/flag/", data)
    flag.refresh_from_db()
    assert flag.everyone is None
    console.post("/admin/rollout/flag/", {**data, "reason": "incident 42"})
    flag.refresh_from_db()
    assert flag.everyone is False
    assert FlagHistory.objects.filter(flag_name=FLAG, reason="incident 42", source="admin").exists()


def test_rollout_page_and_buttons(console: Client, demo_users: Any) -> None:
    outcome = rollout_start(flag_name=FLAG, actor=demo_users.admin, reason="go")
    page = console.get(f"/admin/rollout/rollout/{outcome.rollout.pk}/change/").content.decode()
    assert 'id="advance-button"' in page and "stage-monitoring" in page and "confirm(" in page
    act = f"/admin/rollout/rollout/{outcome.rollout.pk}/act"
    console.post(f"{act}/advance/", {"reason": "", "expected_stage": "pre_deployment"})
    assert Rollout.objects.get().current_stage_name == "pre_deployment"  # no reason, no move
    console.post(f"{act}/advance/", {"reason": "healthy", "expected_stage": "pre_deployment"})
    assert Rollout.objects.get().current_stage_name == "deployed_disabled"
    console.post(f"{act}/advance/", {"reason": "stale tab", "expected_stage": "pre_deployment"})
    assert Rollout.objects.get().current_stage_name == "deployed_disabled"
    console.post(f"{act}/rollback/", {"reason": "back"})
    assert Rollout.objects.get().current_stage_name == "pre_deployment"
    page = console.get(f"/admin/rollout/rollout/{outcome.rollout.pk}/change/").content.decode()
    assert "healthy" in page and "pre_deployment.database" in page
    kinds = list(RolloutTransition.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["start", "advance", "rollback"]


def test_non_staff_cannot_reach_the_console(demo_users: Any) -> None:
    client = Client()
    client.force_login(demo_users.regular)
    assert client.get("/admin/rollout/flag/").status_code == 302


def test_admin_edits_go_through_the_flag_service_validation(console: Client) -> None:
    flag = Flag.objects.get(name=FLAG)
    url = f"/admin/rollout/flag/{flag.pk}/change/"
    form = {
        "name": FLAG,
        "description": "x",
        "everyone": "unknown",
        "note": "",
        "active_from_0": "2026-12-02",
        "active_from_1": "10:00:00",
        "active_until_0": "2026-12-01",
        "active_until_1": "10:00:00",
        "change_reason": "window",
    }
    response = console.post(url, form)
    assert response.status_code == 200 and "active_from must be before active_until" in response.content.decode()
    assert not FlagHistory.objects.filter(flag_name=FLAG, source="admin").exists()


def test_admin_creates_a_flag_with_its_first_history_row(console: Client, demo_users: Any) -> None:
    form = {
        "name": "new_flag",
        "description": "d",
        "everyone": "unknown",
        "percent": "5",
        "note": "",
        "change_reason": "new",
    }
    assert console.post("/admin/rollout/flag/add/", form).status_code == 302
    flag = Flag.objects.get(name="new_flag")
    assert flag.percent == 5 and flag.description == "d"
    row = FlagHistory.objects.get(flag_name="new_flag")
    assert row.before == {} and row.after["percent"] == 5 and row.actor == demo_users.admin and row.source == "admin"

"""Regression tests for defects found in review, rollout's share (each failed before its fix)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rollout import flags
from rollout.models import Flag, FlagsVersion
from rollout.rollouts import rollout_rollback, rollout_start

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/admin/monitoring/dashboard?minutes=%C2%B2",
        "/api/admin/feature-flags/settings_page_enabled/check?user_id=%C2%B2",
    ],
)
def test_odd_query_values_are_400_not_500(staff_client: Any, url: str) -> None:
    response = staff_client.get(url)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"


def test_odd_bodies_are_400_not_500(staff_client: Any) -> None:
    plan = staff_client.post(
        "/api/admin/rollouts", {"flag": "settings_page_enabled", "reason": "x", "plan": 5}, format="json"
    )
    assert plan.status_code == 400 and plan.json()["error"]["code"] == "invalid_plan"


def test_promoting_a_user_bumps_the_flag_version_even_without_a_local_snapshot(make_user: Any) -> None:
    user = make_user()
    flags.reset()
    before = FlagsVersion.objects.get(pk=1).version
    user.is_staff = True
    user.save()
    assert FlagsVersion.objects.get(pk=1).version > before
    flags.reset()
    quiet = FlagsVersion.objects.get(pk=1).version
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert FlagsVersion.objects.get(pk=1).version == quiet


def test_admin_actions_need_the_change_permission(make_user: Any) -> None:
    viewer = make_user("staff", staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_flag", content_type__app_label="rollout"))
    client = Client()
    client.force_login(viewer)
    flag = Flag.objects.get(name="settings_page_enabled")
    client.post("/admin/rollout/flag/", {"action": "kill_flags", "_selected_action": [flag.pk], "reason": "x"})
    flag.refresh_from_db()
    assert flag.everyone is True


def test_flag_list_query_count_does_not_grow_with_rollouts(staff_client: Any) -> None:
    def flag_list_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get("/api/admin/feature-flags").status_code == 200
            assert staff_client.get("/api/admin/rollouts").status_code == 200
        return len(captured.captured_queries)

    rollout_start(flag_name="settings_page_enabled", actor=None, reason="one")
    few = flag_list_queries()
    for name in ("admin_dashboard_enabled", "v1_planning_scoring", "enhanced_trimp_calculation"):
        rollout_start(flag_name=name, actor=None, reason="more")
        rollout_rollback(flag_name=name, actor=None, reason="x", everything=True)
    assert flag_list_queries() == few

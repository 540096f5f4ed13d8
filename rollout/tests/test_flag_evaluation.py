"""Evaluation order and reasons, one rule at a time (rollout.md), windows at their edges, percent 0 and 100."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.template import Context, Template
from django.test import RequestFactory

from rollout import flags
from rollout.hashing import bucket
from rollout.models import Flag
from rollout.services import flag_toggle, flag_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag(db: Any) -> Flag:
    return Flag.objects.create(name="new_calc", everyone=None, superusers=False, staff=False)


def test_unknown_flag_is_off_with_reason_missing() -> None:
    assert flags.evaluate("does_not_exist", user_id=1) == (False, "missing")


def test_killed_flag_is_off_even_for_listed_users(flag: Flag, make_user: Any) -> None:
    user = make_user()
    flag.users.add(user)
    flag.everyone = False
    flag.save()
    assert flags.evaluate("new_calc", user=user) == (False, "killed")


def test_window_edges(flag: Flag) -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    end = datetime(2026, 12, 31, tzinfo=UTC)
    flag.everyone = True
    flag.active_from, flag.active_until = start, end
    flag.save()
    assert flags.evaluate("new_calc", user_id=5, at=start - timedelta(microseconds=1)) == (False, "outside_window")
    assert flags.evaluate("new_calc", user_id=5, at=start) == (True, "everyone")
    assert flags.evaluate("new_calc", user_id=5, at=end - timedelta(microseconds=1)) == (True, "everyone")
    assert flags.evaluate("new_calc", user_id=5, at=end) == (False, "outside_window")


def test_open_ended_window(flag: Flag) -> None:
    flag.everyone = True
    flag.active_from = datetime(2030, 1, 1, tzinfo=UTC)
    flag.save()
    assert flags.evaluate("new_calc", user_id=1) == (False, "outside_window")
    assert flags.evaluate("new_calc", user_id=1, at=datetime(2031, 1, 1, tzinfo=UTC)) == (True, "everyone")


def test_everyone(flag: Flag) -> None:
    flag.everyone = True
    flag.save()
    assert flags.evaluate("new_calc", user_id=123) == (True, "everyone")
    assert flags.evaluate("new_calc") == (True, "everyone")


def test_listed_user(flag: Flag, make_user: Any) -> None:
    listed, other = make_user(), make_user()
    flag.users.add(listed)
    assert flags.evaluate("new_calc", user=listed) == (True, "user")
    assert flags.evaluate("new_calc", user_id=listed.pk) == (True, "user")
    assert flags.evaluate("new_calc", user=other) == (False, "default")


def test_staff_cohort(flag: Flag, make_user: Any) -> None:
    staff, athlete = make_user("staff", staff=True), make_user()
    flag.staff = True
    flag.save()
    assert flags.evaluate("new_calc", user=staff) == (True, "staff")
    assert flags.evaluate("new_calc", user_id=staff.pk) == (True, "staff")
    assert flags.evaluate("new_calc", user_id=athlete.pk) == (False, "default")


def test_superuser_cohort(flag: Flag, make_user: Any) -> None:
    root = make_user(is_superuser=True)
    flag.superusers = True
    flag.save()
    assert flags.evaluate("new_calc", user_id=root.pk) == (True, "superuser")
    assert flags.evaluate("new_calc", user=root) == (True, "superuser")


def test_group_cohort_names_the_group(flag: Flag, make_user: Any) -> None:
    beta_user, regular = make_user(groups=("beta",)), make_user()
    flag.groups.add(Group.objects.get(name="beta"))
    assert flags.evaluate("new_calc", user_id=beta_user.pk) == (True, "group:beta")
    assert flags.evaluate("new_calc", user=regular) == (False, "default")


def test_group_membership_change_is_seen_at_once(flag: Flag, make_user: Any) -> None:
    user = make_user()
    group = Group.objects.create(name="beta")
    flag.groups.add(group)
    assert flags.evaluate("new_calc", user_id=user.pk) == (False, "default")
    user.groups.add(group)
    assert flags.evaluate("new_calc", user_id=user.pk) == (True, "group:beta")


def test_percent_uses_the_bucket(flag: Flag) -> None:
    flag.percent = 30
    flag.save()
    for user_id in range(1, 400):
        expected = bucket("new_calc", user_id) <= 30
        assert flags.evaluate("new_calc", user_id=user_id) == ((True, "percent") if expected else (False, "default"))


def test_percent_zero_and_hundred(flag: Flag) -> None:
    flag.percent = 0
    flag.save()
    assert not any(flags.is_feature_enabled("new_calc", uid) for uid in range(1, 500))
    flag.percent = 100
    flag.save()
    assert all(flags.evaluate("new_calc", user_id=uid) == (True, "percent") for uid in range(1, 500))


def test_default_and_anonymous(flag: Flag) -> None:
    assert flags.evaluate("new_calc", user_id=77) == (False, "default")
    assert flags.evaluate("new_calc", user=AnonymousUser()) == (False, "default")
    assert flags.evaluate("new_calc") == (False, "default")


def test_rule_order_user_before_cohorts_before_percent(flag: Flag, make_user: Any) -> None:
    staff = make_user("staff", staff=True, groups=("beta",))
    flag.users.add(staff)
    flag.staff = True
    flag.percent = 100
    flag.save()
    flag.groups.add(Group.objects.get(name="beta"))
    assert flags.evaluate("new_calc", user=staff)[1] == "user"
    flag.users.clear()
    assert flags.evaluate("new_calc", user=staff)[1] == "staff"
    flag.staff = False
    flag.save()
    assert flags.evaluate("new_calc", user=staff)[1] == "group:beta"
    flag.groups.clear()
    assert flags.evaluate("new_calc", user=staff)[1] == "percent"


def test_env_override_wins_over_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    flag = Flag.objects.get(name="v1_planning_scoring")
    flag.everyone = False
    flag.save()
    monkeypatch.setenv("FEATURE_V1_PLANNING_SCORING", "1")
    flags.reset()
    assert flags.evaluate("v1_planning_scoring", user_id=4) == (True, "env_override")
    monkeypatch.setenv("FEATURE_V1_PLANNING_SCORING", "false")
    flags.reset()
    assert flags.evaluate("v1_planning_scoring", user_id=4) == (False, "env_override")


def test_bad_env_override_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from rollout.registry import FlagSpec, register_flag

    monkeypatch.setenv("FEATURE_V1_PLANNING_SCORING", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FEATURE_V1_PLANNING_SCORING"):
        register_flag(FlagSpec(name="v1_planning_scoring", description="", env_override="FEATURE_V1_PLANNING_SCORING"))


def test_project_flags_are_registered_with_defaults() -> None:
    assert flags.evaluate("enhanced_trimp_calculation", user_id=1) == (False, "default")
    assert flags.evaluate("settings_page_enabled", user_id=1) == (True, "everyone")
    assert flags.evaluate("admin_dashboard_enabled", user_id=1) == (True, "everyone")
    assert flags.evaluate("v1_planning_scoring", user_id=1)[0] is False


def test_warm_evaluation_costs_no_query(flag: Flag, make_user: Any, django_assert_num_queries: Any) -> None:
    user = make_user(groups=("beta",))
    flag.groups.add(Group.objects.get(name="beta"))
    flags.evaluate("new_calc", user_id=user.pk)  # warm the snapshot
    with django_assert_num_queries(0):
        for _ in range(100):
            assert flags.evaluate("new_calc", user_id=user.pk) == (True, "group:beta")
            assert flags.is_feature_enabled("new_calc", user.pk)


def test_a_service_change_is_seen_at_once_in_process(flag: Flag, make_user: Any) -> None:
    user = make_user()
    assert flags.evaluate("new_calc", user_id=user.pk) == (False, "default")
    flag_update(name="new_calc", changes={"users": [user.pk]}, actor=None, source="api", reason="t")
    assert flags.evaluate("new_calc", user_id=user.pk) == (True, "user")
    flag_toggle(name="new_calc", enabled=False, actor=None, source="api", reason="t")
    assert flags.evaluate("new_calc", user_id=user.pk) == (False, "killed")


def test_memoised_per_request(flag: Flag, make_user: Any) -> None:
    request = RequestFactory().get("/")
    request.user = make_user()
    assert flags.evaluate_for_request(request, "new_calc") == (False, "default")
    flag.everyone = True
    flag.save()
    assert flags.evaluate_for_request(request, "new_calc") == (False, "default")  # same request, same answer
    fresh = RequestFactory().get("/")
    fresh.user = request.user
    assert flags.evaluate_for_request(fresh, "new_calc") == (True, "everyone")


def test_template_tag(flag: Flag, make_user: Any) -> None:
    request = RequestFactory().get("/")
    request.user = make_user()
    template = Template('{% load rollout_flags %}{% flag_enabled "new_calc" as on %}{{ on|yesno:"ON,OFF" }}')
    assert template.render(Context({"request": request})) == "OFF"
    flag.everyone = True
    flag.save()
    request2 = RequestFactory().get("/")
    request2.user = request.user
    assert template.render(Context({"request": request2})) == "ON"


def test_my_flags_endpoint(client_for: Any, make_user: Any, flag: Flag) -> None:
    user = make_user()
    flag.users.add(user)
    body = client_for(user).get("/api/v1/flags").json()
    assert body["new_calc"] == {"enabled": True, "reason": "user"}
    assert body["settings_page_enabled"] == {"enabled": True, "reason": "everyone"}

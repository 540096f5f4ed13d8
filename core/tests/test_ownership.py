"""The ownership matrix: athlete / other athlete / coach (linked or not) / staff / anonymous."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core.errors import NotFoundError
from core.models import CoachAthlete
from core.permissions import athlete_for_user, scope_to_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any) -> dict[str, Any]:
    athlete = make_user("athlete")
    other = make_user("athlete")
    coach = make_user("coach")
    other_coach = make_user("coach")
    staff = make_user("staff", staff=True)
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    return {"athlete": athlete, "other": other, "coach": coach, "other_coach": other_coach, "staff": staff}


@pytest.mark.parametrize(
    ("viewer", "target", "visible"),
    [
        ("athlete", "athlete", True),
        ("athlete", "other", False),
        ("coach", "athlete", True),
        ("coach", "other", False),
        ("other_coach", "athlete", False),
        ("staff", "athlete", True),
        ("staff", "other", True),
    ],
)
def test_detail_visibility(world: dict[str, Any], client_for: Any, viewer: str, target: str, visible: bool) -> None:
    response = client_for(world[viewer]).get(f"/api/v1/athletes/{world[target].pk}")
    assert response.status_code == (200 if visible else 404)
    if not visible:
        assert response.json()["error"]["code"] == "not_found"


def test_anonymous_gets_401(world: dict[str, Any]) -> None:
    response = APIClient().get(f"/api/v1/athletes/{world['athlete'].pk}")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("athlete", {"athlete"}),
        ("other", {"other"}),
        ("coach", {"coach", "athlete"}),
        ("other_coach", {"other_coach"}),
        ("staff", {"athlete", "other", "coach", "other_coach", "staff"}),
    ],
)
def test_list_is_scoped_in_the_queryset(
    world: dict[str, Any], client_for: Any, viewer: str, expected: set[str]
) -> None:
    response = client_for(world[viewer]).get("/api/v1/athletes")
    assert response.status_code == 200
    ids = {row["id"] for row in response.json()["results"]}
    assert ids == {world[name].pk for name in expected}


def test_scope_helper_with_foreign_key_field(world: dict[str, Any]) -> None:
    from core.models import Job

    Job.objects.create(kind="core.ping", created_by=world["athlete"])
    Job.objects.create(kind="core.ping", created_by=world["other"])
    coach_jobs = scope_to_user(Job.objects.all(), world["coach"], field="created_by")
    assert [job.created_by_id for job in coach_jobs] == [world["athlete"].pk]


def test_write_target_resolution(world: dict[str, Any]) -> None:
    assert athlete_for_user(world["coach"], world["athlete"].pk) == world["athlete"]
    assert athlete_for_user(world["athlete"], None) == world["athlete"]
    with pytest.raises(NotFoundError):
        athlete_for_user(world["coach"], world["other"].pk)
    with pytest.raises(NotFoundError):
        athlete_for_user(world["athlete"], world["other"].pk)
    with pytest.raises(NotFoundError):
        athlete_for_user(world["staff"], 987654321)

"""A training session's link to the plan session it carries out (``plan_job_id`` + ``plan_day``) through the API:
the round trip, every bad link answering 4xx in the error shape, deleting the plan clearing the link; and the
link in the ops console both ways."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from django.test import Client

from core.models import CoachAthlete
from planning.engine.days import session_days, session_on_day
from planning.models import PlanJob
from planning.readiness.models import TrainingSession

pytestmark = pytest.mark.django_db


def _days(plan_job: PlanJob) -> list[int]:
    return session_days(plan_job.result_data["plan"])


def test_link_round_trips_through_create_get_list_and_patch(make_user: Any, client_for: Any, plan_for: Any) -> None:
    athlete = make_user("athlete")
    plan_job = plan_for(athlete)
    first, second = _days(plan_job)[:2]
    client = client_for(athlete)
    created = client.post(
        "/api/v1/sessions",
        {"date": "2026-03-02", "plan_job_id": str(plan_job.pk), "plan_day": first, "planned_duration_min": 50},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["plan_job_id"], body["plan_day"]) == (str(plan_job.pk), first)
    pk = body["id"]
    stored = TrainingSession.objects.get(pk=pk)
    assert stored.plan_job == plan_job and list(plan_job.sessions.all()) == [stored]
    assert session_on_day(plan_job.result_data["plan"], stored.plan_day) is not None

    detail = client.get(f"/api/v1/sessions/{pk}").json()
    assert (detail["plan_job_id"], detail["plan_day"]) == (str(plan_job.pk), first)
    client.post("/api/v1/sessions", {"date": "2026-03-03"}, format="json")  # not linked
    listed = client.get("/api/v1/sessions", {"plan_job": plan_job.pk.hex}).json()["results"]  # hex form too
    assert [row["id"] for row in listed] == [pk]
    assert len(client.get("/api/v1/sessions").json()["results"]) == 2

    moved = client.patch(f"/api/v1/sessions/{pk}", {"plan_day": second}, format="json")  # the plan is kept
    assert moved.status_code == 200 and moved.json()["plan_day"] == second
    done = client.patch(f"/api/v1/sessions/{pk}", {"completed": True, "session_quality": 7}, format="json")
    assert done.status_code == 200 and (done.json()["plan_job_id"], done.json()["plan_day"]) == (
        str(plan_job.pk),
        second,
    )
    unlinked = client.patch(f"/api/v1/sessions/{pk}", {"plan_job_id": None}, format="json")  # clears the day too
    assert unlinked.status_code == 200 and (unlinked.json()["plan_job_id"], unlinked.json()["plan_day"]) == (None, None)
    relinked = client.patch(
        f"/api/v1/sessions/{pk}", {"plan_job_id": str(plan_job.pk), "plan_day": first}, format="json"
    )
    assert relinked.status_code == 200 and relinked.json()["plan_day"] == first


def test_a_coach_links_an_athletes_session_to_the_athletes_plan(make_user: Any, client_for: Any, plan_for: Any) -> None:
    athlete, coach = make_user("athlete"), make_user("coach")
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    plan_job = plan_for(athlete)
    day = _days(plan_job)[0]
    body = {"date": "2026-03-02", "athlete_id": athlete.pk, "plan_job_id": str(plan_job.pk), "plan_day": day}
    response = client_for(coach).post("/api/v1/sessions", body, format="json")
    assert response.status_code == 201 and response.json()["athlete_id"] == athlete.pk


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("not_a_uuid", 400, "validation_error"),
        ("unknown_plan", 404, "plan_job_not_found"),
        ("someone_elses_plan", 404, "plan_job_not_found"),
        ("queued_plan", 400, "plan_job_not_completed"),
        ("day_after_the_plan", 400, "plan_day_invalid"),
        ("rest_day", 400, "plan_day_invalid"),
        ("day_zero", 400, "validation_error"),
        ("plan_without_day", 400, "validation_error"),
        ("day_without_plan", 400, "validation_error"),
    ],
)
def test_bad_links_answer_4xx_in_the_error_shape(
    make_user: Any, client_for: Any, plan_for: Any, case: str, status: int, code: str
) -> None:
    athlete, other = make_user("athlete"), make_user("athlete")
    plan_job = plan_for(athlete, weeks=4)
    days = _days(plan_job)
    rest_day = next(day for day in range(1, 29) if day not in days)
    link: dict[str, Any] = {
        "not_a_uuid": {"plan_job_id": "12", "plan_day": days[0]},
        "unknown_plan": {"plan_job_id": str(uuid.uuid4()), "plan_day": days[0]},
        "someone_elses_plan": {"plan_job_id": str(plan_for(other).pk), "plan_day": days[0]},
        "queued_plan": {"plan_job_id": str(plan_for(athlete, run=False).pk), "plan_day": days[0]},
        "day_after_the_plan": {"plan_job_id": str(plan_job.pk), "plan_day": 4 * 7 + 1},
        "rest_day": {"plan_job_id": str(plan_job.pk), "plan_day": rest_day},
        "day_zero": {"plan_job_id": str(plan_job.pk), "plan_day": 0},
        "plan_without_day": {"plan_job_id": str(plan_job.pk)},
        "day_without_plan": {"plan_day": days[0]},
    }[case]
    client = client_for(athlete)
    response = client.post("/api/v1/sessions", {"date": "2026-03-02", **link}, format="json")
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and "details" in error
    assert not TrainingSession.objects.exists()
    # the same link through PATCH of an existing session answers the same, and leaves the session as it was
    pk = client.post("/api/v1/sessions", {"date": "2026-03-02"}, format="json").json()["id"]
    patched = client.patch(f"/api/v1/sessions/{pk}", link, format="json")
    assert patched.status_code == status and patched.json()["error"]["code"] == code
    assert TrainingSession.objects.filter(pk=pk, plan_job__isnull=True, plan_day__isnull=True).exists()


def test_half_a_link_by_patch_and_a_bad_list_filter_answer_400(make_user: Any, client_for: Any, plan_for: Any) -> None:
    athlete = make_user("athlete")
    plan_job = plan_for(athlete)
    client = client_for(athlete)
    body = {"date": "2026-03-02", "plan_job_id": str(plan_job.pk), "plan_day": _days(plan_job)[0]}
    pk = client.post("/api/v1/sessions", body, format="json").json()["id"]
    cleared_day = client.patch(f"/api/v1/sessions/{pk}", {"plan_day": None}, format="json")
    assert cleared_day.status_code == 400 and cleared_day.json()["error"]["code"] == "validation_error"
    bad_filter = client.get("/api/v1/sessions", {"plan_job": "nope"})
    assert bad_filter.status_code == 400 and bad_filter.json()["error"]["code"] == "validation_error"


def test_deleting_the_plan_job_clears_the_link_and_keeps_the_session(
    make_user: Any, client_for: Any, plan_for: Any
) -> None:
    athlete = make_user("athlete")
    plan_job, kept = plan_for(athlete), plan_for(athlete)
    client = client_for(athlete)
    day = _days(plan_job)[0]
    linked = client.post(
        "/api/v1/sessions", {"date": "2026-03-02", "plan_job_id": str(plan_job.pk), "plan_day": day}, format="json"
    ).json()["id"]
    other = client.post(
        "/api/v1/sessions", {"date": "2026-03-02", "plan_job_id": str(kept.pk), "plan_day": day}, format="json"
    ).json()["id"]
    plan_job.delete()
    session = TrainingSession.objects.get(pk=linked)
    assert (session.plan_job_id, session.plan_day) == (None, None)
    assert client.get(f"/api/v1/sessions/{linked}").json()["plan_job_id"] is None
    assert TrainingSession.objects.get(pk=other).plan_job_id == kept.pk  # another plan's sessions untouched


def test_the_ops_console_shows_the_link_both_ways_and_deleting_the_plan_there_clears_it(
    make_user: Any, plan_for: Any
) -> None:
    athlete = make_user("athlete")
    plan_job = plan_for(athlete)
    day = _days(plan_job)[1]
    session = TrainingSession.objects.create(athlete=athlete, date=date(2026, 3, 4), plan_job=plan_job, plan_day=day)
    TrainingSession.objects.create(athlete=athlete, date=date(2026, 3, 5))  # not linked
    client = Client()
    client.force_login(make_user("staff", staff=True, is_superuser=True))
    job_page = client.get(f"/admin/planning/planjob/{plan_job.pk}/change/")
    sessions_url = f"/admin/readiness/trainingsession/?plan_job={plan_job.pk}"
    assert job_page.status_code == 200 and f'href="{sessions_url}">1 linked<'.encode() in job_page.content
    listing = client.get(sessions_url)
    assert listing.status_code == 200 and f"day {day} of {str(plan_job.pk)[:8]}".encode() in listing.content
    assert listing.context["cl"].result_count == 1
    plan_page = client.get(f"/admin/planning/planjob/{plan_job.pk}/plan/")
    assert f"day {day}</small>".encode() in plan_page.content
    assert client.get(f"/admin/readiness/trainingsession/{session.pk}/change/").status_code == 200  # read-only view
    confirm = client.get(f"/admin/planning/planjob/{plan_job.pk}/delete/")
    assert confirm.status_code == 200
    assert (
        TrainingSession.objects.get(pk=session.pk).plan_job_id == plan_job.pk
    )  # the confirmation page changes nothing
    deleted = client.post(f"/admin/planning/planjob/{plan_job.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not PlanJob.objects.filter(pk=plan_job.pk).exists()
    session.refresh_from_db()
    assert (session.plan_job_id, session.plan_day) == (None, None)

"""Regression tests for defects found in review (each failed before its fix)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from core import jobs
from core.models import CoachAthlete, Job
from rollout.models import Flag, FlagsVersion

pytestmark = pytest.mark.django_db


def test_coach_upload_with_athlete_id_lands_on_the_athlete(client_for: Any, make_user: Any) -> None:
    from training.models import Activity
    from training.tests.conftest import stream_json

    coach, athlete = make_user("coach"), make_user()
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    body = {
        "streams": stream_json(range(0, 600, 5), [130] * 120),
        "start": "2026-05-01T06:00:00Z",
        "athlete_id": athlete.pk,
    }
    response = client_for(coach).post("/api/v1/activities", body, format="json")
    assert response.status_code == 201, response.json()
    assert Activity.objects.get().athlete_id == athlete.pk
    typo = client_for(coach).post("/api/v1/activities", {**body, "athelete": 1}, format="json")
    assert typo.status_code == 400 and "athelete" in typo.json()["error"]["details"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/admin/monitoring/dashboard?minutes=%C2%B2",
        "/api/admin/feature-flags/settings_page_enabled/check?user_id=%C2%B2",
        "/api/admin/trimp-performance-metrics?hours=%C2%B2",
        "/api/admin/feedback/summary?flag=a__in",
        "/api/admin/feedback/summary?flag=a__isnull",
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
    seed = staff_client.post("/api/admin/trimp-comparison", {"sample": 1, "seed": -1}, format="json")
    assert seed.status_code == 400


def test_a_run_that_lost_its_claim_does_not_finish_the_job() -> None:
    job = Job.objects.create(kind="test.reclaimed", enqueued_at=timezone.now())

    @jobs.job_handler("test.reclaimed")
    def slow(job_row: Job, ctx: jobs.JobContext) -> dict[str, Any]:
        # meanwhile the sweeper decided this worker was dead and another worker claimed the job
        Job.objects.filter(pk=job_row.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
        jobs.jobs_sweep(now=timezone.now())
        assert jobs._claim(job_row.pk) == 2
        return {"from": "the first, stale run"}

    jobs.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and job.attempts == 2 and job.result == {}


def test_coach_does_not_see_athletes_jobs(client_for: Any, make_user: Any) -> None:
    coach, athlete = make_user("coach"), make_user()
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    Job.objects.create(kind="core.ping", created_by=athlete)
    assert client_for(coach).get("/api/v1/jobs").json()["count"] == 0
    assert client_for(athlete).get("/api/v1/jobs").json()["count"] == 1


def test_promoting_a_user_bumps_the_flag_version_even_without_a_local_snapshot(make_user: Any) -> None:
    from rollout import flags

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


def test_flag_list_query_count_does_not_grow_with_rollouts(
    staff_client: Any, django_assert_max_num_queries: Any
) -> None:
    from rollout.rollouts import rollout_rollback, rollout_start

    def flag_list_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

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


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_feedback_collapses(make_user: Any) -> None:
    from django.db import connections

    from feedback.models import Feedback
    from feedback.services import feedback_submit

    user = make_user()
    barrier = threading.Barrier(3)
    outcomes: list[bool] = []

    def submit() -> None:
        try:
            barrier.wait()
            outcomes.append(feedback_submit(user=user, type="bug_report", message="double click")[1])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == [False, True, True]
    assert Feedback.objects.count() == 1 and Feedback.objects.get().duplicate_count == 2

"""Regression tests for defects found in review, core's share (each failed before its fix)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from core import jobs
from core.models import CoachAthlete, Job

pytestmark = pytest.mark.django_db


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

"""Plan jobs on real Celery workers: a worker SIGKILLed mid-job or mid-batch leaves each job to the sweeper and
one result row; two workers never run the same job."""

from __future__ import annotations

import io
import sqlite3
import time
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from conftest import REPO, wait_for
from core.jobs import jobs_sweep
from core.models import Job
from planning.models import PlanJob
from planning.services.plans import plan_job_request, plan_job_run

pytestmark = pytest.mark.system
BODY = {"weeklyGoalDays": 3, "availabilityDays": 3, "goals": ["strength"], "experience": "beginner"}


class LibraryLock:
    """Another client that makes the worker wait inside the job.

    PostgreSQL: an ACCESS EXCLUSIVE lock on ``movement_library`` — the worker claims the job and marks the plan
    job running, then blocks reading the library. SQLite: a write transaction — the worker blocks on its claim.
    """

    def __init__(self) -> None:
        db = connection.settings_dict
        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            self.conn: Any = sqlite3.connect(db["NAME"], timeout=30, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            self.conn = psycopg.connect(
                dbname=db["NAME"],
                user=db.get("USER") or None,
                password=db.get("PASSWORD") or None,
                host=db.get("HOST") or "127.0.0.1",
                port=db.get("PORT") or 5432,
            )
            self.conn.execute("LOCK TABLE movement_library IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        self.conn.rollback() if self.vendor != "sqlite" else self.conn.execute("ROLLBACK")
        self.conn.close()


def test_killed_worker_job_is_rerun_by_the_sweeper_with_one_result(start_worker: Any, make_user: Any) -> None:
    call_command(
        "import_movements", str(REPO / "planning/data/movements-foundational.json"), "--publish", stdout=io.StringIO()
    )
    athlete = make_user("athlete")
    with transaction.atomic():  # the row, then its message (sent on commit) waits in the broker
        plan_job, _ = plan_job_request(requester=athlete, data={**BODY, "userId": athlete.pk})
    lock = LibraryLock()
    try:
        first = start_worker()
        assert wait_for(lambda: "Task core.run_job" in first.log() and "received" in first.log(), timeout=60), (
            first.log()
        )
        time.sleep(1.0)  # the task is inside job_run, waiting on the lock
        first.kill()
    finally:
        lock.release()
    job = Job.objects.get(pk=plan_job.core_job_id)
    assert job.status in (Job.Status.QUEUED, Job.Status.RUNNING) and job.finished_at is None
    assert PlanJob.objects.get(pk=plan_job.pk).result_data is None  # the dead run left nothing

    later = timezone.now() + timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS + 1)
    report = jobs_sweep(now=later)
    assert report.resent + report.requeued == 1
    second = start_worker()
    done = PlanJob.objects.filter(pk=plan_job.pk, status__in=[PlanJob.Status.COMPLETED, PlanJob.Status.FAILED])
    assert wait_for(done.exists, timeout=90), second.log()
    finished = PlanJob.objects.get(pk=plan_job.pk)
    assert finished.status == PlanJob.Status.COMPLETED, (finished.error, second.log())
    assert finished.result_data and finished.result_data["plan"]["durationWeeks"] == 12
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.sends == 2
    # a late duplicate (the first message redelivered) changes nothing: still one plan job with one result
    assert plan_job_run(plan_job_id=str(plan_job.pk))["skipped"] is True
    assert PlanJob.objects.filter(user=athlete).count() == 1
    assert PlanJob.objects.get(pk=plan_job.pk).result_data == finished.result_data


def _queue_plans(make_user: Any, count: int) -> list[PlanJob]:
    call_command(
        "import_movements", str(REPO / "planning/data/movements-foundational.json"), "--publish", stdout=io.StringIO()
    )
    athlete = make_user("athlete")
    with transaction.atomic():  # the rows, then their messages (sent on commit)
        return [
            plan_job_request(requester=athlete, data={**BODY, "userId": athlete.pk, "seed": seed})[0]
            for seed in range(count)
        ]


def test_two_workers_never_run_the_same_plan_job(start_worker: Any, make_user: Any) -> None:
    workers = [start_worker(), start_worker()]
    for worker in workers:
        assert wait_for(lambda worker=worker: "ready." in worker.log(), timeout=60), worker.log()
    plan_jobs = _queue_plans(make_user, 40)
    pks = [p.pk for p in plan_jobs]
    done = PlanJob.objects.filter(pk__in=pks, status__in=[PlanJob.Status.COMPLETED, PlanJob.Status.FAILED])
    assert wait_for(lambda: done.count() == 40, timeout=120), workers[0].log() + workers[1].log()
    assert PlanJob.objects.filter(pk__in=pks, status=PlanJob.Status.COMPLETED).count() == 40
    core_jobs = Job.objects.filter(pk__in=[p.core_job_id for p in plan_jobs])
    assert set(core_jobs.values_list("status", "attempts")) == {(Job.Status.SUCCEEDED, 1)}  # each claimed once
    assert all("Task core.run_job" in worker.log() for worker in workers)  # both took messages


def test_a_worker_killed_mid_batch_leaves_each_plan_job_one_result(start_worker: Any, make_user: Any) -> None:
    plan_jobs = _queue_plans(make_user, 5)
    pks, core_ids = [p.pk for p in plan_jobs], [p.core_job_id for p in plan_jobs]
    lock = LibraryLock()
    try:
        first = start_worker()
        if lock.vendor == "postgresql":  # the worker claims the whole batch, then waits for the library
            claimed = Job.objects.filter(pk__in=core_ids, status=Job.Status.RUNNING)
            assert wait_for(lambda: claimed.count() == 5, timeout=60), first.log()
        else:  # SQLite: the lock holds the worker at its claim, so it dies before the batch
            assert wait_for(lambda: "Task core.run_job" in first.log(), timeout=60), first.log()
            time.sleep(1.0)
        first.kill()
    finally:
        lock.release()
    assert not PlanJob.objects.filter(pk__in=pks, result_data__isnull=False).exists()  # the dead batch wrote nothing

    later = timezone.now() + timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS + 1)
    report = jobs_sweep(now=later)
    assert report.resent + report.requeued == 5
    second = start_worker()
    done = PlanJob.objects.filter(pk__in=pks, status__in=[PlanJob.Status.COMPLETED, PlanJob.Status.FAILED])
    assert wait_for(lambda: done.count() == 5, timeout=90), second.log()
    assert PlanJob.objects.filter(pk__in=pks, status=PlanJob.Status.COMPLETED, result_data__isnull=False).count() == 5
    expected_attempts = 2 if connection.vendor == "postgresql" else 1
    core_jobs = Job.objects.filter(pk__in=core_ids)
    assert set(core_jobs.values_list("status", "sends", "attempts")) == {(Job.Status.SUCCEEDED, 2, expected_attempts)}

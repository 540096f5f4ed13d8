"""The job pattern: row first, claim once, sweeper re-sends a lost message exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from core import jobs
from core.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the ids handed to the broker (the broker is outside the unit under test here)."""
    calls: list[int] = []
    monkeypatch.setattr(jobs, "_send", calls.append)
    return calls


def test_enqueue_writes_the_row_and_sends_after_commit(
    sent: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_enqueue(kind="core.ping", params={"echo": 7})
        assert sent == []  # nothing leaves before the commit
    assert sent == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.sends == 1


def test_enqueue_unknown_kind_writes_nothing() -> None:
    with pytest.raises(jobs.UnknownJobKind):
        jobs.job_enqueue(kind="no.such.kind")
    assert Job.objects.count() == 0


def test_running_a_job_twice_leaves_one_result() -> None:
    job = Job.objects.create(kind="core.ping", params={"echo": "x"}, enqueued_at=timezone.now())
    first = jobs.job_run(job.pk)
    second = jobs.job_run(job.pk)
    assert first is not None and first.status == Job.Status.SUCCEEDED
    assert second is None
    job.refresh_from_db()
    assert job.attempts == 1
    assert job.result == {"pong": True, "echo": "x"}
    assert job.progress_done == 1 and job.progress_total == 1


def test_a_failing_handler_marks_the_job_failed() -> None:
    @jobs.job_handler("test.explode")
    def explode(job: Job, ctx: jobs.JobContext) -> dict[str, Any]:
        raise ValueError("bad input")

    job = Job.objects.create(kind="test.explode", enqueued_at=timezone.now())
    jobs.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "ValueError: bad input" in job.error


def test_sweeper_resends_a_lost_message_exactly_once(sent: list[int]) -> None:
    old = timezone.now() - timedelta(hours=1)
    lost = Job.objects.create(kind="core.ping", enqueued_at=old, sends=1)
    fresh = Job.objects.create(kind="core.ping", enqueued_at=timezone.now(), sends=1)
    first = jobs.jobs_sweep()
    second = jobs.jobs_sweep()
    assert sent == [lost.pk]
    assert (first.resent, second.resent) == (1, 0)
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.sends == 2 and fresh.sends == 1


def test_sweeper_requeues_a_running_job_whose_worker_died(sent: list[int]) -> None:
    stale = timezone.now() - timedelta(hours=2)
    job = Job.objects.create(
        kind="core.ping", status=Job.Status.RUNNING, attempts=1, heartbeat_at=stale, enqueued_at=stale
    )
    report = jobs.jobs_sweep()
    assert report.requeued == 1 and sent == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED
    finished = jobs.job_run(job.pk)
    assert finished is not None and finished.status == Job.Status.SUCCEEDED and finished.attempts == 2


def test_a_live_running_job_is_not_claimed_again() -> None:
    job = Job.objects.create(kind="core.ping", status=Job.Status.RUNNING, attempts=1, heartbeat_at=timezone.now())
    assert jobs.job_run(job.pk) is None
    job.refresh_from_db()
    assert job.attempts == 1


@override_settings(JOB_MAX_ATTEMPTS=2)
def test_sweeper_gives_up_after_max_attempts(sent: list[int]) -> None:
    stale = timezone.now() - timedelta(hours=2)
    job = Job.objects.create(kind="core.ping", status=Job.Status.RUNNING, attempts=2, heartbeat_at=stale)
    report = jobs.jobs_sweep()
    assert report.failed == 1 and sent == []
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


def test_cancel_only_unfinished() -> None:
    queued = Job.objects.create(kind="core.ping")
    done = Job.objects.create(kind="core.ping", status=Job.Status.SUCCEEDED)
    assert jobs.job_cancel(job=queued) is True
    assert jobs.job_cancel(job=done) is False


def test_job_api_shows_own_jobs_only(client_for: Any, make_user: Any) -> None:
    owner, other = make_user(), make_user()
    job = Job.objects.create(kind="core.ping", created_by=owner)
    assert client_for(owner).get(f"/api/v1/jobs/{job.pk}").status_code == 200
    assert client_for(other).get(f"/api/v1/jobs/{job.pk}").status_code == 404


def test_setup_schedules_is_idempotent() -> None:
    from django_celery_beat.models import PeriodicTask

    from core.schedules import schedules_sync

    schedules_sync()
    count = PeriodicTask.objects.count()
    report = schedules_sync()
    assert report.created == []
    assert PeriodicTask.objects.count() == count
    task = PeriodicTask.objects.get(name="core: sweep jobs")
    task.enabled = False
    task.save()
    schedules_sync()
    assert PeriodicTask.objects.get(name="core: sweep jobs").enabled is False  # ops' edit is kept
    schedules_sync(reset=True)
    assert PeriodicTask.objects.get(name="core: sweep jobs").enabled is True

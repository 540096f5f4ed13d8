"""A real Celery worker process consumes the broker (Redis on the service tier, the embedded broker
otherwise) and runs job rows; a message lost with a killed worker is re-sent by the sweeper."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from conftest import wait_for
from core import jobs
from core.models import Job

pytestmark = pytest.mark.system  # starts processes or servers (see pyproject's markers)


def _finished(job_id: int) -> bool:
    return Job.objects.filter(pk=job_id, status=Job.Status.SUCCEEDED).exists()


def test_job_round_trips_through_a_real_worker(celery_worker: Any) -> None:
    with transaction.atomic():
        job = jobs.job_enqueue(kind="core.ping", params={"echo": "hi"})
    assert wait_for(lambda: _finished(job.pk), timeout=60), celery_worker.log()
    job.refresh_from_db()
    assert job.result == {"pong": True, "echo": "hi"}
    assert job.attempts == 1


def test_sweeper_resends_a_message_that_never_reached_the_broker(celery_worker: Any) -> None:
    stale = timezone.now() - timedelta(hours=1)
    job = Job.objects.create(kind="core.ping", params={"echo": 1}, enqueued_at=stale, sends=1)  # no message
    report = jobs.jobs_sweep()
    assert report.resent == 1
    assert wait_for(lambda: _finished(job.pk), timeout=60), celery_worker.log()
    job.refresh_from_db()
    assert job.sends == 2 and job.attempts == 1


def test_job_round_trips_through_redis_with_a_real_worker(start_worker: Any, redis_url: str) -> None:
    """On every tier: a worker consuming from a real Redis broker runs the job row it is sent."""
    from core.celery import app
    from core.tasks import run_job

    worker = start_worker(broker_url=redis_url)
    job = Job.objects.create(kind="core.ping", params={"echo": "via redis"}, enqueued_at=timezone.now(), sends=1)
    with app.connection_for_write(redis_url) as connection:
        run_job.apply_async(args=[job.pk], connection=connection)
    assert wait_for(lambda: _finished(job.pk), timeout=60), worker.log()
    job.refresh_from_db()
    assert job.result["echo"] == "via redis"
    assert "redis://" in worker.log()


def _sessions_opened() -> int:
    """Connections ever opened to the test database (PostgreSQL's cumulative statistics)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


def test_a_worker_keeps_its_database_connection_between_jobs(
    start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With DB_CONN_MAX_AGE set, twenty jobs do not cost twenty new connections (Celery's fix-up would close the
    connection after every task)."""
    if connection.vendor != "postgresql":
        pytest.skip("connections are counted on the PostgreSQL tier")
    monkeypatch.setenv("DB_CONN_MAX_AGE", "600")
    worker = start_worker()
    with transaction.atomic():
        warm = jobs.job_enqueue(kind="core.ping")
    assert wait_for(lambda: _finished(warm.pk), timeout=60), worker.log()
    time.sleep(1.0)  # statistics reach pg_stat_database within a second
    before = _sessions_opened()
    for echo in range(20):
        with transaction.atomic():
            job = jobs.job_enqueue(kind="core.ping", params={"echo": echo})
        assert wait_for(lambda job=job: _finished(job.pk), timeout=60), worker.log()
    time.sleep(1.0)
    assert _sessions_opened() - before <= 2  # this test's own polling aside, no new connection per job

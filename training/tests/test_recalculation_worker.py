"""A recalculation on a real Celery worker that is SIGKILLed mid-run resumes on a new worker: no activity is
skipped or counted twice."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from conftest import wait_for
from core.jobs import jobs_sweep
from core.models import Job
from training.loads import daily_loads_by_day
from training.models import Activity, ActivityStream, RecalculationChunk, TrimpSettings
from training.recalculation import recalculation_start
from training.streams import encode_stream
from training.synthetic import simulate_session

ACTIVITIES = 600
CHUNK = 10


def seed_unscored(athletes: list[Any]) -> None:
    """Activities with 1-hour streams, never scored (bulk-created: the recalculation scores them all)."""
    rng = np.random.default_rng(11)
    rows, blobs = [], []
    for n in range(ACTIVITIES):
        athlete = athletes[n % len(athletes)]
        session = simulate_session(rng, rest=50, max_hr=190, kind="tempo", duration_s=3600)
        start = datetime(2023, 1, 1, 7, tzinfo=UTC) + timedelta(days=n // len(athletes))
        rows.append(
            Activity(
                athlete=athlete,
                start=start,
                local_date=start.date(),
                timer_seconds=session.timer_seconds,
                source=Activity.Source.JSON,
                external_id=f"kill:{n}",
                sample_count=session.times.size,
            )
        )
        blobs.append(encode_stream(session.times, session.hrs))
    created = Activity.objects.bulk_create(rows, batch_size=500)
    ActivityStream.objects.bulk_create(
        [
            ActivityStream(activity_id=a.pk, data=b, sample_count=a.sample_count)
            for a, b in zip(created, blobs, strict=True)
        ],
        batch_size=200,
    )


class WriteLock:
    """Another client that blocks writes to the activities (SQLite: the database; PostgreSQL: the table)."""

    def __init__(self) -> None:
        settings = connection.settings_dict
        self.vendor = connection.vendor
        if self.vendor == "sqlite":
            self.conn: Any = sqlite3.connect(settings["NAME"], timeout=30, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            self.conn = psycopg.connect(
                dbname=settings["NAME"],
                user=settings.get("USER") or None,
                password=settings.get("PASSWORD") or None,
                host=settings.get("HOST") or "127.0.0.1",
                port=settings.get("PORT") or 5432,
            )
            self.conn.execute(f'LOCK TABLE "{Activity._meta.db_table}" IN EXCLUSIVE MODE')

    def release(self) -> None:
        self.conn.rollback() if self.vendor != "sqlite" else self.conn.execute("ROLLBACK")
        self.conn.close()


def done_planned(job: Job) -> int:
    return int(
        RecalculationChunk.objects.filter(job=job, status=RecalculationChunk.Status.DONE).aggregate(n=Sum("planned"))[
            "n"
        ]
        or 0
    )


@pytest.mark.system
def test_recalculation_resumes_after_its_worker_is_killed(
    start_worker: Any, make_user: Any, profile_for: Any, flag_for: Any
) -> None:
    athletes = [make_user("athlete", groups=("beta",)) for _ in range(3)]
    for athlete in athletes:
        profile_for(athlete)
    flag_for("beta")
    seed_unscored(athletes)
    TrimpSettings.objects.create(pk=1, recalc_chunk_size=CHUNK, recalc_parallelism=2, chunk_lease_seconds=3)

    first = start_worker()
    job = recalculation_start(actor=None, reason="kill test", trigger="api")
    running = RecalculationChunk.objects.filter(job=job, status=RecalculationChunk.Status.RUNNING)
    assert wait_for(lambda: done_planned(job) >= 2 * CHUNK and running.exists(), timeout=90, interval=0.002), (
        first.log()
    )
    lock = WriteLock()  # the worker blocks on its next write, in the middle of a chunk
    try:
        time.sleep(1.0)
        interrupted = list(
            RecalculationChunk.objects.filter(job=job, status=RecalculationChunk.Status.RUNNING).values_list(
                "index", flat=True
            )
        )
        done_before = done_planned(job)
        first.kill()
    finally:
        lock.release()
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING, first.log()
    assert 0 < done_before < ACTIVITIES and len(interrupted) == 1
    assert Activity.objects.filter(trimp__isnull=False).count() == done_before  # the dead chunk left nothing

    # the sweeper sees the job's heartbeat stop (time moved past the timeout) and re-queues it
    from django.conf import settings

    later = timezone.now() + timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS + 1)
    assert jobs_sweep(now=later).requeued == 1
    second = start_worker()
    assert wait_for(
        lambda: Job.objects.filter(pk=job.pk, status__in=[Job.Status.SUCCEEDED, Job.Status.FAILED]).exists(),
        timeout=120,
    ), second.log()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (job.error, second.log())
    assert job.attempts == 2
    assert (job.result["processed"], job.result["changed"], job.result["failed"]) == (ACTIVITIES, ACTIVITIES, 0)
    chunks = RecalculationChunk.objects.filter(job=job)
    assert chunks.count() == ACTIVITIES // CHUNK
    assert set(chunks.values_list("status", flat=True)) == {RecalculationChunk.Status.DONE}
    assert chunks.get(index=interrupted[0]).attempts == 2
    assert not Activity.objects.filter(trimp__isnull=True).exists()
    reasons = set(Activity.objects.values_list("trimp_method_reason", flat=True))
    assert "stream_ok" in reasons and reasons <= {"stream_ok", "stream_coverage_low", "stream_too_short"}
    days = daily_loads_by_day()
    for (athlete_id, day), (load, _) in days.items():
        total = Activity.objects.filter(athlete_id=athlete_id, local_date=day).aggregate(s=Sum("trimp"))
        assert load == pytest.approx(total["s"])
    assert sum(count for _, count in days.values()) == ACTIVITIES

"""Batched jobs: one message claims the queued jobs of its kind, each job keeps its own outcome and runs once."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from core import jobs
from core.models import Job, User

KIND = "test.batch"
seen_batches: list[list[int]] = []  # the job ids of every batch the handler was given, in order
_lock = threading.Lock()


def _write(job: Job) -> Any:
    """The feature's own result row: a user named after the job (a second write would break its unique name)."""

    def write() -> dict[str, Any]:
        if job.params.get("bad_write"):
            User.objects.create(username="taken")  # already exists: the transaction breaks
        User.objects.create(username=f"batch-{job.pk}")
        return {"written": True}

    return write


@jobs.job_batch_handler(KIND, max_batch=10)
def _handle(batch: list[Job]) -> list[jobs.JobOutcome]:
    with _lock:
        seen_batches.append([job.pk for job in batch])
    if any(job.params.get("db_down") for job in batch):
        raise OperationalError("the database went away")
    if any(job.params.get("crash") for job in batch):
        raise RuntimeError("a bug in the handler")
    return [
        jobs.JobOutcome(error="bad input")
        if job.params.get("fail")
        else jobs.JobOutcome(result={"n": job.params.get("n")}, write=_write(job))
        for job in batch
    ]


@pytest.fixture(autouse=True)
def _fresh() -> None:
    seen_batches.clear()


def _queue(count: int, **params: Any) -> list[int]:
    now = timezone.now()
    return [Job.objects.create(kind=KIND, params={"n": n, **params}, enqueued_at=now).pk for n in range(count)]


def _results(ids: list[int]) -> dict[int, Job]:
    return {job.pk: job for job in Job.objects.filter(pk__in=ids)}


@pytest.mark.django_db
def test_one_message_runs_the_queued_jobs_of_its_kind_in_one_batch() -> None:
    ids = _queue(5)
    other = Job.objects.create(kind="core.ping", enqueued_at=timezone.now())
    first = jobs.job_run(ids[2])
    assert first is not None and first.pk == ids[2] and first.status == Job.Status.SUCCEEDED
    assert first.result == {"n": 2, "written": True}
    assert seen_batches == [[ids[2], *[i for i in ids if i != ids[2]]]]  # its own job first, then the oldest
    rows = _results(ids)
    assert {row.status for row in rows.values()} == {Job.Status.SUCCEEDED}
    assert {row.attempts for row in rows.values()} == {1}
    assert all(row.finished_at is not None and row.started_at is not None for row in rows.values())
    assert Job.objects.get(pk=other.pk).status == Job.Status.QUEUED  # another kind is not taken
    # the messages of the jobs the batch took are no-ops
    assert [jobs.job_run(i) for i in ids if i != ids[2]] == [None] * 4
    assert User.objects.filter(username__startswith="batch-").count() == 5 and len(seen_batches) == 1


@pytest.mark.django_db
def test_a_batch_is_capped_by_job_batch_max() -> None:
    ids = _queue(5)
    with override_settings(JOB_BATCH_MAX=2):
        jobs.job_run(ids[0])
        assert seen_batches == [ids[:2]]
        jobs.job_run(ids[4])
    assert seen_batches == [ids[:2], [ids[4], ids[2]]]
    assert Job.objects.get(pk=ids[3]).status == Job.Status.QUEUED


@pytest.mark.django_db
def test_a_failing_job_fails_alone() -> None:
    ids = _queue(3)
    Job.objects.filter(pk=ids[1]).update(params={"n": 1, "fail": True})
    jobs.job_run(ids[0])
    rows = _results(ids)
    assert rows[ids[1]].status == Job.Status.FAILED and rows[ids[1]].error == "bad input"
    assert rows[ids[0]].status == rows[ids[2]].status == Job.Status.SUCCEEDED
    assert not User.objects.filter(username=f"batch-{ids[1]}").exists()


@pytest.mark.django_db
def test_a_batch_that_raises_is_run_one_job_at_a_time() -> None:
    ids = _queue(3)
    Job.objects.filter(pk=ids[1]).update(params={"n": 1, "crash": True})
    jobs.job_run(ids[0])
    assert seen_batches == [ids, [ids[0]], [ids[1]], [ids[2]]]
    rows = _results(ids)
    assert rows[ids[1]].status == Job.Status.FAILED and "RuntimeError: a bug in the handler" in rows[ids[1]].error
    assert rows[ids[0]].status == rows[ids[2]].status == Job.Status.SUCCEEDED


@pytest.mark.django_db
def test_a_write_that_breaks_the_transaction_fails_only_its_job() -> None:
    User.objects.create(username="taken")
    ids = _queue(3)
    Job.objects.filter(pk=ids[1]).update(params={"n": 1, "bad_write": True})
    jobs.job_run(ids[0])
    rows = _results(ids)
    assert rows[ids[1]].status == Job.Status.FAILED
    assert rows[ids[1]].error.startswith("could not store the outcome: IntegrityError")
    assert rows[ids[0]].status == rows[ids[2]].status == Job.Status.SUCCEEDED
    names = set(User.objects.filter(username__startswith="batch-").values_list("username", flat=True))
    assert names == {f"batch-{ids[0]}", f"batch-{ids[2]}"}  # the rolled-back batch wrote again, once each


@pytest.mark.django_db
def test_a_database_error_requeues_the_whole_batch() -> None:
    ids = _queue(3)
    Job.objects.filter(pk=ids[2]).update(params={"n": 2, "db_down": True})
    returned = jobs.job_run(ids[0])
    assert returned is not None and returned.status == Job.Status.QUEUED
    rows = _results(ids)
    assert {row.status for row in rows.values()} == {Job.Status.QUEUED}
    assert all("went away" in row.error and row.attempts == 1 for row in rows.values())


@pytest.mark.django_db
def test_a_batch_whose_worker_died_is_requeued_by_the_sweeper_and_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []
    monkeypatch.setattr(jobs, "_send", sent.append)
    ids = _queue(4)
    # what a worker killed inside its batch leaves behind: every job of the batch claimed, none finished
    claimed = [jobs._claim(ids[0]), *jobs._claim_more(KIND, 9)]
    assert [job.pk for job in claimed if job] == ids
    assert jobs.job_run(ids[1]) is None  # its message meanwhile: the job is held by the dead worker's batch
    later = timezone.now() + timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS + 1)
    report = jobs.jobs_sweep(now=later)
    assert report.requeued == 4 and sorted(sent) == ids
    jobs.job_run(sent[0])
    rows = _results(ids)
    assert {(row.status, row.attempts) for row in rows.values()} == {(Job.Status.SUCCEEDED, 2)}
    assert User.objects.filter(username__startswith="batch-").count() == 4  # one result each
    assert [jobs.job_run(i) for i in sent] == [None] * 4  # the re-sent messages find nothing to do


@pytest.mark.django_db(transaction=True)
def test_concurrent_messages_never_run_a_job_twice() -> None:
    ids = _queue(60)
    errors: list[BaseException] = []

    def worker(order: list[int]) -> None:
        try:
            for job_id in order:
                jobs.job_run(job_id)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(random.Random(n).sample(ids, len(ids)),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    ran = [job_id for batch in seen_batches for job_id in batch]
    assert sorted(ran) == ids  # every job in exactly one batch
    rows = _results(ids)
    assert {(row.status, row.attempts) for row in rows.values()} == {(Job.Status.SUCCEEDED, 1)}
    assert User.objects.filter(username__startswith="batch-").count() == 60


@pytest.mark.django_db
def test_a_claim_returns_the_row_as_the_orm_reads_it(make_user: Any) -> None:
    job = Job.objects.create(
        kind=KIND, params={"n": 1, "nested": {"a": [1, 2]}}, result={"kept": True}, enqueued_at=timezone.now()
    )
    Job.objects.filter(pk=job.pk).update(created_by=make_user("staff", staff=True), progress_total=3)
    claimed = jobs._claim(job.pk)
    assert claimed is not None
    fresh = Job.objects.get(pk=job.pk)
    for field in Job._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(fresh, field.attname), field.name
    assert claimed.started_at is not None and claimed.started_at.tzinfo is not None
    assert claimed.status == Job.Status.RUNNING and claimed.attempts == 1 and claimed.params["nested"] == {"a": [1, 2]}

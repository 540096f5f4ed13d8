"""The reusable background-job pattern: a database row first, a message carrying only its id.

A feature registers a handler for a job kind::

    @job_handler("training.recalculate")
    def recalculate(job: Job, ctx: JobContext) -> dict: ...

and asks for work with ``job_enqueue(kind=..., params=..., created_by=...)``. The message is sent after the
transaction commits. ``job_run(job_id)`` claims the row with a conditional UPDATE, so a duplicate message (a
re-send, an acks_late redelivery) is a no-op while another worker holds a fresh heartbeat. Handlers must be
idempotent (upsert on business keys): a job whose worker died is run again from the start or from the
checkpoint the handler keeps in ``job.result``.

Short, numerous jobs (plan generation) may register a *batch* handler instead::

    @job_batch_handler("planning.generate", max_batch=20)
    def generate(jobs: list[Job]) -> list[JobOutcome]: ...

The message of one such job then claims it and up to ``max_batch - 1`` other queued jobs of its kind in one
statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never claim the same row; SQLite has one
writer at a time), runs them together and finishes them all in one transaction, each with its own outcome.
The messages of the jobs claimed this way find them running or finished and do nothing. A worker killed
mid-batch leaves every job of the batch running with a stale heartbeat: the sweeper re-queues each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import DatabaseError, OperationalError, connections, router, transaction
from django.db.models import F, JSONField, Q
from django.utils import timezone

from core.celery import app as celery_app
from core.metrics import JOB_DURATION, JOB_TOTAL
from core.models import Job, User
from core.signals import job_finished

logger = logging.getLogger(__name__)

Handler = Callable[[Job, "JobContext"], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}
_INTERNAL_KINDS: set[str] = set()


@dataclass(frozen=True)
class JobOutcome:
    """What a batch handler reports for one job of its batch: ``error`` set → the job failed, else succeeded.

    ``write`` is the feature's own write for this job (e.g. the result row). It runs first inside the transaction
    that finishes the job, so the result and the job's final state commit together; the dict it returns is
    merged into the job's result. It must be idempotent (a conditional UPDATE), as a job may run twice.
    """

    result: dict[str, Any] | None = None
    error: str | None = None
    write: Callable[[], dict[str, Any] | None] | None = None


BatchHandler = Callable[[list[Job]], list[JobOutcome]]
_BATCH_HANDLERS: dict[str, tuple[BatchHandler, int]] = {}


class JobError(Exception):
    """A job failed for a reason that retrying will not fix; the message is stored on the row."""


class UnknownJobKind(JobError):
    pass


def job_handler(kind: str, *, internal: bool = False) -> Callable[[Handler], Handler]:
    """Register ``func`` as the handler of ``kind`` (one handler per kind). ``internal`` jobs are the system's
    own bookkeeping (e.g. triage of a user's feedback): users never see them in ``/api/v1/jobs``, staff do."""

    def register(func: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing is not func:
            raise ValueError(f"job kind {kind!r} already has a handler")
        _HANDLERS[kind] = func
        if internal:
            _INTERNAL_KINDS.add(kind)
        return func

    return register


def job_batch_handler(kind: str, *, max_batch: int, internal: bool = False) -> Callable[[BatchHandler], BatchHandler]:
    """Register ``func`` as the batch handler of ``kind``: it gets up to ``max_batch`` claimed jobs (capped by
    ``JOB_BATCH_MAX``) and returns one ``JobOutcome`` per job, in order. It reports a job's failure in its
    outcome rather than raising; if it raises anyway, each job of the batch is run again on its own, so only the
    jobs that fail alone fail. A database ``OperationalError`` re-queues the whole batch.
    """

    def register(func: BatchHandler) -> BatchHandler:
        existing = _BATCH_HANDLERS.get(kind)
        if existing is not None and existing[0] is not func:
            raise ValueError(f"job kind {kind!r} already has a handler")

        def one(job: Job, ctx: JobContext) -> dict[str, Any] | None:  # the kind is known to job_enqueue & co
            raise JobError(f"{kind} jobs run in batches (job_run dispatches them)")

        job_handler(kind, internal=internal)(one)
        _BATCH_HANDLERS[kind] = (func, max(1, max_batch))
        return func

    return register


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


def internal_kinds() -> list[str]:
    """Kinds registered with ``internal=True``."""
    return sorted(_INTERNAL_KINDS)


@dataclass
class JobContext:
    """What a handler may do with its own row while it runs."""

    job_id: int
    result: dict[str, Any] | None = None  # the row's result as this run knows it (kept by checkpoint)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress and beat the heartbeat (one UPDATE)."""
        fields: dict[str, Any] = {"progress_done": done, "heartbeat_at": timezone.now()}
        if total is not None:
            fields["progress_total"] = total
        Job.objects.filter(pk=self.job_id).update(**fields)

    def heartbeat(self) -> None:
        Job.objects.filter(pk=self.job_id).update(heartbeat_at=timezone.now())

    def checkpoint(self, **result: Any) -> None:
        """Merge ``result`` into the row's result so a re-run can resume where this one stopped."""
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=self.job_id)
            job.result = {**job.result, **result}
            job.heartbeat_at = timezone.now()
            job.save(update_fields=["result", "heartbeat_at"])
        self.result = job.result


RUN_JOB_TASK = "core.run_job"  # defined in core/tasks.py, which imports this module: sent by name, no import


def _send(job_id: int) -> None:
    try:
        celery_app.send_task(RUN_JOB_TASK, args=[job_id])
    except Exception:  # the broker is down: the row stays queued and the sweeper re-sends it later
        logger.exception("could not send job %s to the broker; the sweeper will re-send it", job_id)


def job_enqueue(*, kind: str, params: dict[str, Any] | None = None, created_by: User | None = None) -> Job:
    """Create a queued job row and send its message once the surrounding transaction commits."""
    if kind not in _HANDLERS:
        raise UnknownJobKind(f"no handler is registered for job kind {kind!r}")
    with transaction.atomic(savepoint=False):  # one INSERT: a savepoint would only add two round trips
        job = Job.objects.create(
            kind=kind,
            params=params or {},
            created_by=created_by,
            enqueued_at=timezone.now(),
            sends=1,
        )
        transaction.on_commit(lambda: _send(job.pk))
    return job


# Claims and finishes are single UPDATE … RETURNING statements (PostgreSQL, and SQLite ≥ 3.35): the claim hands
# back the row it moved, the finish the row it wrote, where the ORM would need two or three round trips more.
_COLUMNS = "SET status = %s, attempts = attempts + 1, started_at = %s, heartbeat_at = %s, error = ''"
_CLAIM_SQL = (
    "UPDATE {table} " + _COLUMNS + " WHERE id = %s AND attempts < %s"
    " AND (status = %s OR (status = %s AND heartbeat_at < %s)) RETURNING *"
)
# The pick is a MATERIALIZED CTE, run once: as an IN (subquery) PostgreSQL may run it again for each row it scans,
# and with SKIP LOCKED every run returns other rows, so the LIMIT would not hold.
_CLAIM_MORE_SQL = (
    "WITH picked AS MATERIALIZED (SELECT id FROM {table} WHERE kind = %s AND status = %s AND attempts < %s"
    " ORDER BY id LIMIT %s{lock}) UPDATE {table} " + _COLUMNS + " WHERE id IN (SELECT id FROM picked)"
    " AND status = %s AND attempts < %s RETURNING *"
)
_SUCCEED_SQL = (
    "UPDATE {table} SET status = %s, result = %s, finished_at = %s,"
    " progress_done = COALESCE(progress_total, progress_done)"
    " WHERE id = %s AND status = %s AND attempts = %s RETURNING *"
)
_FAIL_SQL = (
    "UPDATE {table} SET status = %s, error = %s, finished_at = %s"
    " WHERE id = %s AND status = %s AND attempts = %s RETURNING *"
)


def _rows(sql: str, params: list[Any], *, lock: str = "") -> list[Job]:
    """Run an UPDATE … RETURNING * on the job table (once) and return the rows it wrote as ``Job`` instances.

    A plain cursor rather than ``Job.objects.raw``: most claims are duplicates that match no row (the messages
    of jobs a batch already ran), and those should cost one round trip and nothing else.
    """
    alias = router.db_for_write(Job)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=Job._meta.db_table, lock=lock), params)
        rows = cursor.fetchall()
        if not rows:
            return []
        columns = [column[0] for column in cursor.description]
    fields = Job._meta.concrete_fields
    position = {column: index for index, column in enumerate(columns)}
    table = Job._meta.db_table
    converters = []
    for field in fields:
        column = field.get_col(table)
        converters.append((column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)))
    jobs = []
    for row in rows:  # the database's values, converted as the ORM converts them, in the model's field order
        values = []
        for field, (column, field_converters) in zip(fields, converters, strict=True):
            value = row[position[field.column]]
            for converter in field_converters:
                value = converter(value, column, connection)
            values.append(value)
        jobs.append(Job.from_db(alias, [field.attname for field in fields], values))
    return jobs


def _when(value: Any) -> Any:
    return connections[router.db_for_write(Job)].ops.adapt_datetimefield_value(value)


def _claim(job_id: int) -> Job | None:
    """Move the row to running if nobody else holds it; return it as claimed (its ``attempts`` is this run's)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS)
    running, queued = Job.Status.RUNNING, Job.Status.QUEUED
    params = [running, _when(now), _when(now), job_id, settings.JOB_MAX_ATTEMPTS, queued, running, _when(stale)]
    rows = _rows(_CLAIM_SQL, params)
    return rows[0] if rows else None


def _claim_more(kind: str, limit: int) -> list[Job]:
    """Claim up to ``limit`` more queued jobs of ``kind``, oldest first, skipping rows another worker has locked."""
    if limit <= 0:
        return []
    skip_locked = connections[router.db_for_write(Job)].features.has_select_for_update_skip_locked
    now = _when(timezone.now())
    running, queued, most = Job.Status.RUNNING, Job.Status.QUEUED, settings.JOB_MAX_ATTEMPTS
    params = [kind, queued, most, limit, running, now, now, queued, most]
    rows = _rows(_CLAIM_MORE_SQL, params, lock=" FOR UPDATE SKIP LOCKED" if skip_locked else "")
    return sorted(rows, key=lambda job: job.pk)


def _finish(job: Job, outcome: JobOutcome, *, base: dict[str, Any] | None = None) -> Job | None:
    """Run the outcome's own write, then finish the row if it is still this run's (running, same attempt: not
    cancelled, not re-claimed after a stale heartbeat); return the finished row. ``base`` is the row's result as
    the run left it (its checkpoints), else the claimed row's."""
    extra = outcome.write() if outcome.write is not None else None
    now, running = _when(timezone.now()), Job.Status.RUNNING
    if outcome.error is not None:
        rows = _rows(_FAIL_SQL, [Job.Status.FAILED, outcome.error[:4000], now, job.pk, running, job.attempts])
    else:
        result = {**(job.result if base is None else base), **(outcome.result or {}), **(extra or {})}
        field = cast(JSONField, Job._meta.get_field("result"))
        stored = field.get_db_prep_value(result, connections[router.db_for_write(Job)])
        rows = _rows(_SUCCEED_SQL, [Job.Status.SUCCEEDED, stored, now, job.pk, running, job.attempts])
    return rows[0] if rows else None


def _requeue(job: Job, exc: Exception) -> None:
    logger.warning("job %s (%s) hit a database error; re-queued: %s", job.pk, job.kind, exc)
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, attempts=job.attempts).update(
        status=Job.Status.QUEUED, enqueued_at=timezone.now(), error=str(exc)[:4000]
    )


def job_run(job_id: int) -> Job | None:
    """Run one job if it can be claimed; return the finished row, or None when there was nothing to do.

    For a kind with a batch handler, other queued jobs of the kind run in the same batch; the row returned is
    ``job_id``'s.
    """
    job = _claim(job_id)
    if job is None:
        logger.info("job %s not claimable (already running, finished or exhausted); skipping", job_id)
        return None
    batch = _BATCH_HANDLERS.get(job.kind)
    if batch is not None:
        return _run_batch(job, *batch)
    handler = _HANDLERS.get(job.kind)
    ctx = JobContext(job_id=job.pk, result=job.result)
    started = time.monotonic()
    try:
        if handler is None:
            raise UnknownJobKind(f"no handler is registered for job kind {job.kind!r}")
        outcome = JobOutcome(result=handler(job, ctx) or {})
    except OperationalError as exc:  # the database was busy or went away: transient, let the sweeper re-send it
        _requeue(job, exc)
        return Job.objects.filter(pk=job.pk).first()
    except Exception as exc:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        outcome = JobOutcome(error=f"{type(exc).__name__}: {exc}")
    finished = _finish(job, outcome, base=ctx.result)
    _record_job_metric(job.kind, "failed" if outcome.error else "succeeded", time.monotonic() - started)
    return finished or Job.objects.filter(pk=job.pk).first()  # not ours any more (cancelled, re-claimed)


def _run_batch(first: Job, handler: BatchHandler, max_batch: int) -> Job | None:
    jobs = [first, *_claim_more(first.kind, min(max_batch, settings.JOB_BATCH_MAX) - 1)]
    started = time.monotonic()
    try:
        outcomes = _batch_outcomes(handler, jobs)
    except OperationalError as exc:  # transient for the whole batch: each job is re-queued as it would be alone
        for job in jobs:
            _requeue(job, exc)
        return Job.objects.filter(pk=first.pk).first()
    seconds = (time.monotonic() - started) / len(jobs)
    finished = _finish_batch(jobs, outcomes)
    for outcome in outcomes:
        _record_job_metric(first.kind, "failed" if outcome.error else "succeeded", seconds)
    return finished.get(first.pk) or Job.objects.filter(pk=first.pk).first()


def _batch_outcomes(handler: BatchHandler, jobs: list[Job]) -> list[JobOutcome]:
    try:
        outcomes = handler(jobs)
        if len(outcomes) != len(jobs):
            raise RuntimeError(f"the batch handler returned {len(outcomes)} outcomes for {len(jobs)} jobs")
        return outcomes
    except OperationalError:
        raise
    except Exception as exc:
        if len(jobs) == 1:
            logger.exception("job %s (%s) failed", jobs[0].pk, jobs[0].kind)
            return [JobOutcome(error=f"{type(exc).__name__}: {exc}")]
        logger.exception("batch of %s %s jobs failed; running each on its own", len(jobs), jobs[0].kind)
    return [_batch_outcomes(handler, [job])[0] for job in jobs]


def _finish_batch(jobs: list[Job], outcomes: list[JobOutcome]) -> dict[int, Job]:
    """Finish every job of a batch in one transaction; if a write breaks it, one transaction per job instead."""
    try:
        with transaction.atomic():
            rows = [_finish(job, outcome) for job, outcome in zip(jobs, outcomes, strict=True)]
        return {row.pk: row for row in rows if row is not None}
    except OperationalError:
        raise  # the rows stay running: the sweeper re-queues them, as for a worker killed mid-batch
    except DatabaseError:
        logger.exception("finishing a batch of %s %s jobs failed; finishing each on its own", len(jobs), jobs[0].kind)
    finished: dict[int, Job] = {}
    for job, outcome in zip(jobs, outcomes, strict=True):
        try:
            with transaction.atomic():
                row = _finish(job, outcome)
        except OperationalError:
            raise
        except DatabaseError as exc:
            logger.exception("storing the outcome of job %s (%s) failed", job.pk, job.kind)
            with transaction.atomic():
                row = _finish(job, JobOutcome(error=f"could not store the outcome: {type(exc).__name__}: {exc}"))
        if row is not None:
            finished[row.pk] = row
    return finished


def _record_job_metric(kind: str, outcome: str, seconds: float) -> None:
    JOB_TOTAL.labels(kind=kind, outcome=outcome).inc()
    JOB_DURATION.labels(kind=kind).observe(seconds)
    job_finished.send(sender=Job, kind=kind, outcome=outcome, seconds=seconds)


def job_cancel(*, job: Job) -> bool:
    """Cancel a job that has not finished. Handlers check ``job_is_cancelled`` between chunks."""
    return bool(
        Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE).update(
            status=Job.Status.CANCELLED, finished_at=timezone.now()
        )
    )


def job_is_cancelled(job_id: int) -> bool:
    return Job.objects.filter(pk=job_id, status=Job.Status.CANCELLED).exists()


@dataclass(frozen=True)
class SweepReport:
    resent: int
    requeued: int
    failed: int


def jobs_sweep(*, now: Any = None) -> SweepReport:
    """Re-send queued rows whose message looks lost; re-queue running rows whose worker died.

    Safe to run concurrently: each row is moved with a conditional UPDATE, so two sweepers re-send a row once.
    """
    now = now or timezone.now()
    queued_cutoff = now - timedelta(seconds=settings.JOB_QUEUED_RESEND_SECONDS)
    running_cutoff = now - timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS)
    max_attempts = settings.JOB_MAX_ATTEMPTS

    failed = Job.objects.filter(
        Q(status=Job.Status.RUNNING, heartbeat_at__lt=running_cutoff) | Q(status=Job.Status.QUEUED),
        attempts__gte=max_attempts,
    ).update(status=Job.Status.FAILED, error="gave up after too many attempts", finished_at=now)

    to_send: list[int] = []
    for job_id in Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=running_cutoff).values_list(
        "pk", flat=True
    ):
        moved = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, heartbeat_at__lt=running_cutoff).update(
            status=Job.Status.QUEUED, enqueued_at=now, sends=F("sends") + 1
        )
        if moved:
            to_send.append(job_id)
    requeued = len(to_send)

    resent = 0
    for job_id in Job.objects.filter(status=Job.Status.QUEUED, enqueued_at__lt=queued_cutoff).values_list(
        "pk", flat=True
    ):
        moved = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED, enqueued_at__lt=queued_cutoff).update(
            enqueued_at=now, sends=F("sends") + 1
        )
        if moved:
            to_send.append(job_id)
            resent += 1
    for job_id in to_send:
        _send(job_id)
    if to_send or failed:
        logger.warning("job sweeper: resent=%s requeued=%s failed=%s", resent, requeued, failed)
    return SweepReport(resent=resent, requeued=requeued, failed=failed)


@job_handler("core.ping")
def _ping(job: Job, ctx: JobContext) -> dict[str, Any]:
    """A no-op job used by health checks, `make run`'s smoke test and the job-pattern tests."""
    ctx.progress(1, 1)
    return {"pong": True, "echo": job.params.get("echo")}

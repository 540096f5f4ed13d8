"""The reusable background-job pattern: a database row first, a message carrying only its id.

A feature registers a handler for a job kind::

    @job_handler("training.recalculate")
    def recalculate(job: Job, ctx: JobContext) -> dict: ...

and asks for work with ``job_enqueue(kind=..., params=..., created_by=...)``. The message is sent after the
transaction commits. ``job_run(job_id)`` claims the row with a conditional UPDATE, so a duplicate message (a
re-send, an acks_late redelivery) is a no-op while another worker holds a fresh heartbeat. Handlers must be
idempotent (upsert on business keys): a job whose worker died is run again from the start or from the
checkpoint the handler keeps in ``job.result``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.celery import app as celery_app
from core.metrics import JOB_DURATION, JOB_TOTAL
from core.models import Job, User
from core.signals import job_finished

logger = logging.getLogger(__name__)

Handler = Callable[[Job, "JobContext"], dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}
_INTERNAL_KINDS: set[str] = set()


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


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


def internal_kinds() -> list[str]:
    """Kinds registered with ``internal=True``."""
    return sorted(_INTERNAL_KINDS)


@dataclass
class JobContext:
    """What a handler may do with its own row while it runs."""

    job_id: int

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
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=params or {},
            created_by=created_by,
            enqueued_at=timezone.now(),
            sends=1,
        )
        transaction.on_commit(lambda: _send(job.pk))
    return job


def _claim(job_id: int) -> int | None:
    """Move the row to running if nobody else holds it; return the attempt number this caller owns (or None)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS)
    claimable = Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=stale)
    updated = (
        Job.objects.filter(claimable, pk=job_id)
        .filter(attempts__lt=settings.JOB_MAX_ATTEMPTS)
        .update(
            status=Job.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            error="",
        )
    )
    if updated != 1:
        return None
    return int(Job.objects.filter(pk=job_id).values_list("attempts", flat=True)[0])


def job_run(job_id: int) -> Job | None:
    """Run one job if it can be claimed; return the finished row, or None when there was nothing to do."""
    attempt = _claim(job_id)
    if attempt is None:
        logger.info("job %s not claimable (already running, finished or exhausted); skipping", job_id)
        return None
    job = Job.objects.get(pk=job_id)
    mine = {"pk": job.pk, "status": Job.Status.RUNNING, "attempts": attempt}  # a re-claimed run is not ours
    handler = _HANDLERS.get(job.kind)
    started = time.monotonic()
    try:
        if handler is None:
            raise UnknownJobKind(f"no handler is registered for job kind {job.kind!r}")
        outcome = handler(job, JobContext(job_id=job.pk)) or {}
    except OperationalError as exc:  # the database was busy or went away: transient, let the sweeper re-send it
        logger.warning("job %s (%s) hit a database error; re-queued: %s", job.pk, job.kind, exc)
        Job.objects.filter(**mine).update(status=Job.Status.QUEUED, enqueued_at=timezone.now(), error=str(exc)[:4000])
        job.refresh_from_db()
        return job
    except Exception as exc:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        Job.objects.filter(**mine).update(
            status=Job.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:4000],
            finished_at=timezone.now(),
        )
        _record_job_metric(job.kind, "failed", time.monotonic() - started)
        job.refresh_from_db()
        return job
    with transaction.atomic():
        fresh = Job.objects.select_for_update().get(pk=job.pk)
        if fresh.status == Job.Status.RUNNING and fresh.attempts == attempt:
            fresh.result = {**fresh.result, **outcome}
            fresh.status = Job.Status.SUCCEEDED
            fresh.finished_at = timezone.now()
            if fresh.progress_total is not None:
                fresh.progress_done = fresh.progress_total
            fresh.save(update_fields=["result", "status", "finished_at", "progress_done"])
    _record_job_metric(job.kind, "succeeded", time.monotonic() - started)
    fresh.refresh_from_db()
    return fresh


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

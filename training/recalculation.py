"""Historical recalculation: a job row fanned out in chunks to the workers, resumable and idempotent.

* ``recalculation_start`` writes the job row (``training.recalculate``); its message is sent after commit.
* The job's handler plans the chunks once (contiguous id ranges of the scope, ``RecalculationChunk`` rows),
  sends ``recalc_parallelism`` helper tasks, then claims and processes chunks itself until none is left. The
  helpers do the same, so every worker slot that is free helps; with one worker the handler does it all.
* A chunk is claimed with a conditional UPDATE (pending, failed with attempts left, or running with a lease
  older than ``chunk_lease_seconds`` — its worker died) and a fresh token. Its writes and its ``done`` mark
  commit together, conditional on the token (``recalc_chunks.chunk_commit``).
* A killed worker: its chunk's transaction never committed; the lease expires and another claim redoes it.
  A killed job handler: the core sweeper re-queues the job row, and the handler resumes from the chunks.
* Idempotent: only activities whose stored values change are written, so a second run writes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import date, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from core.celery import app as celery_app
from core.errors import NotFoundError, ServiceError
from core.jobs import JobContext, JobError, job_enqueue, job_handler, job_is_cancelled
from core.models import Job, User
from training.config import current_settings
from training.engine import DATABASE_ERROR
from training.models import Activity, RecalculationChunk, TrimpSettings
from training.recalc_chunks import LostClaim, Scope, chunk_commit, chunk_compute, merge_reports

logger = logging.getLogger(__name__)

JOB_KIND = "training.recalculate"
HELP_TASK = "training.recalculate_help"  # training/tasks.py calls this module: sent by name, no import
MAX_CHUNK_ATTEMPTS = 3
WAIT_SECONDS = 0.5
TRIGGERS = ("api", "admin", "command", "hr_profile", "bench", "demo", "rollback")


def _worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@transaction.atomic
def recalculation_start(
    *,
    actor: User | None,
    athlete_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
    dry_run: bool = False,
    reason: str = "",
    trigger: str = "api",
    send: bool = True,
    activity_ids: list[int] | None = None,
) -> Job:
    """Queue a recalculation of the activities in scope (all, one athlete, local days ``[since, until)``,
    exactly ``activity_ids`` when given).

    ``dry_run`` computes and reports (how many change, by how much, the biggest movers) but writes nothing to
    activities or daily loads. ``send=False`` writes the row without a message, for a caller that runs it in
    its own process with ``core.jobs.job_run`` (the sweeper still re-sends it if that process dies).
    """
    if trigger not in TRIGGERS:
        raise ServiceError("invalid_trigger", f"trigger must be one of {', '.join(TRIGGERS)}.")
    if athlete_id is not None and not User.objects.filter(pk=athlete_id).exists():
        raise NotFoundError("athlete_not_found", f"Athlete {athlete_id} was not found.")
    if since is not None and until is not None and until <= since:
        raise ServiceError("invalid_range", "until must be after since.")
    params = {
        "athlete_id": athlete_id,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "dry_run": bool(dry_run),
        "reason": reason[:500],
        "trigger": trigger,
    }
    if activity_ids is not None:
        params["activity_ids"] = sorted({int(i) for i in activity_ids})
    if not send:
        return Job.objects.create(kind=JOB_KIND, params=params, created_by=actor, enqueued_at=timezone.now())
    return job_enqueue(kind=JOB_KIND, params=params, created_by=actor)


def chunks_plan(*, job: Job, scope: Scope, chunk_size: int) -> int:
    """Create the job's chunk rows once (idempotent); returns the number of activities planned."""
    existing = RecalculationChunk.objects.filter(job=job).aggregate(total=Sum("planned"))["total"]
    if existing is not None:
        return int(existing)
    ids = list(Activity.objects.filter(scope.filter()).order_by("id").values_list("id", flat=True))
    size = max(1, chunk_size)
    chunks = [
        RecalculationChunk(job=job, index=n, first_id=part[0], last_id=part[-1], planned=len(part))
        for n, part in enumerate(ids[start : start + size] for start in range(0, len(ids), size))
    ]
    try:
        with transaction.atomic():
            RecalculationChunk.objects.bulk_create(chunks, batch_size=500)
    except IntegrityError:  # planned concurrently by a re-sent message: theirs stands
        return int(RecalculationChunk.objects.filter(job=job).aggregate(total=Sum("planned"))["total"] or 0)
    return len(ids)


def _claimable(lease_seconds: int) -> Q:
    stale = timezone.now() - timedelta(seconds=lease_seconds)
    return (
        Q(status=RecalculationChunk.Status.PENDING)
        | Q(status=RecalculationChunk.Status.RUNNING, heartbeat_at__lt=stale)
        | Q(status=RecalculationChunk.Status.FAILED, attempts__lt=MAX_CHUNK_ATTEMPTS)
    )


def chunk_claim(*, job_id: int, lease_seconds: int) -> tuple[RecalculationChunk, str] | None:
    """Claim the next claimable chunk of the job for this worker; None when there is none."""
    for _ in range(20):
        candidate = (
            RecalculationChunk.objects.filter(_claimable(lease_seconds), job_id=job_id)
            .order_by("index")
            .values_list("pk", flat=True)
            .first()
        )
        if candidate is None:
            return None
        token = uuid.uuid4().hex
        now = timezone.now()
        claimed = RecalculationChunk.objects.filter(_claimable(lease_seconds), pk=candidate).update(
            status=RecalculationChunk.Status.RUNNING,
            claim_token=token,
            claimed_by=_worker_label(),
            claimed_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
        if claimed:
            return RecalculationChunk.objects.get(pk=candidate), token
    return None


def chunk_run(*, chunk: RecalculationChunk, token: str, params: dict[str, Any], settings: TrimpSettings) -> bool:
    """Process one claimed chunk; True when it committed. Failures are stored on the chunk (retried later)."""
    dry_run = bool(params.get("dry_run"))
    try:
        changes, days, report = chunk_compute(
            chunk=chunk, scope=Scope.from_params(params), max_gap_s=settings.max_gap_s, record_metrics=not dry_run
        )
        chunk_commit(chunk=chunk, token=token, changes=changes, days=days, report=report, dry_run=dry_run)
        return True
    except LostClaim:
        logger.warning("chunk %s of job %s was re-claimed by another worker; dropping ours", chunk.index, chunk.job_id)
        return False
    except DatabaseError as exc:
        message = f"{DATABASE_ERROR}: {type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug must not stall the job: the chunk is marked failed, retried, reported
        logger.exception("chunk %s of job %s failed", chunk.index, chunk.job_id)
        message = f"{type(exc).__name__}: {exc}"
    RecalculationChunk.objects.filter(pk=chunk.pk, claim_token=token).update(
        status=RecalculationChunk.Status.FAILED, error=message[:4000], finished_at=timezone.now()
    )
    return False


def _progress(job_id: int) -> tuple[int, int]:
    done = RecalculationChunk.objects.filter(job_id=job_id, status=RecalculationChunk.Status.DONE).aggregate(
        n=Sum("planned")
    )["n"]
    total = RecalculationChunk.objects.filter(job_id=job_id).aggregate(n=Sum("planned"))["n"]
    return int(done or 0), int(total or 0)


def chunks_work(*, job_id: int, params: dict[str, Any], ctx: JobContext | None = None) -> int:
    """Claim and process chunks of the job until none is claimable; returns how many this caller committed."""
    settings = current_settings()
    committed = 0
    while not job_is_cancelled(job_id):
        claim = chunk_claim(job_id=job_id, lease_seconds=settings.chunk_lease_seconds)
        # Progress (and the job's heartbeat) once per claim: what others finished meanwhile shows up too.
        done, total = _progress(job_id)
        if ctx is not None:
            ctx.progress(done, total)
        else:  # a helper reports progress but leaves the handler's heartbeat alone
            Job.objects.filter(pk=job_id).update(progress_done=done)
        if claim is None:
            break
        chunk, token = claim
        committed += chunk_run(chunk=chunk, token=token, params=params, settings=settings)
    return committed


def _chunk_counts(job_id: int) -> dict[str, int]:
    counts = dict.fromkeys(RecalculationChunk.Status.values, 0)
    for status, n in (
        RecalculationChunk.objects.filter(job_id=job_id).order_by().values_list("status").annotate(n=Count("id"))
    ):
        counts[status] = n
    return counts


def _send_helpers(job_id: int, count: int) -> None:
    for _ in range(count):
        try:
            celery_app.send_task(HELP_TASK, args=[job_id])
        except Exception:  # the broker is down: the handler does the work alone
            logger.warning("could not send a recalculation helper for job %s", job_id, exc_info=True)
            return


@job_handler(JOB_KIND)
def recalculate_job(job: Job, ctx: JobContext) -> dict[str, Any]:
    """The job's handler: plan once, fan out, work, wait for chunks held elsewhere, then report."""
    params = job.params
    settings = current_settings()
    total = chunks_plan(job=job, scope=Scope.from_params(params), chunk_size=settings.recalc_chunk_size)
    done, _ = _progress(job.pk)
    ctx.progress(done, total)
    ctx.checkpoint(planned=total, dry_run=bool(params.get("dry_run")))
    pending = RecalculationChunk.objects.filter(job=job).exclude(status=RecalculationChunk.Status.DONE).count()
    helpers = min(settings.recalc_parallelism, max(pending - 1, 0))
    if helpers:
        transaction.on_commit(lambda: _send_helpers(job.pk, helpers))
    while True:
        chunks_work(job_id=job.pk, params=params, ctx=ctx)
        if job_is_cancelled(job.pk):
            return {"cancelled": True}
        counts = _chunk_counts(job.pk)
        if (
            counts[RecalculationChunk.Status.RUNNING] == 0
            and not RecalculationChunk.objects.filter(_claimable(settings.chunk_lease_seconds), job=job).exists()
        ):
            break
        time.sleep(WAIT_SECONDS)  # chunks held by other workers: wait for them (or for their lease to expire)
        ctx.heartbeat()
    report = recalculation_report(job.pk)
    if counts[RecalculationChunk.Status.FAILED]:
        ctx.checkpoint(**report)
        errors = list(
            RecalculationChunk.objects.filter(job=job, status=RecalculationChunk.Status.FAILED).values_list(
                "error", flat=True
            )[:3]
        )
        raise JobError(f"{counts[RecalculationChunk.Status.FAILED]} chunk(s) failed: {'; '.join(errors)}")
    return report


def recalculation_report(job_id: int) -> dict[str, Any]:
    """The merged report of the job's finished chunks, with chunk counts."""
    reports = list(
        RecalculationChunk.objects.filter(job_id=job_id, status=RecalculationChunk.Status.DONE).values_list(
            "result", flat=True
        )
    )
    return {**merge_reports(reports), "chunks": _chunk_counts(job_id)}


def recalculation_help(*, job_id: int) -> int:
    """A helper task's body: work on the job's chunks while the job is active."""
    job = Job.objects.filter(pk=job_id, kind=JOB_KIND, status__in=Job.ACTIVE).first()
    if job is None or not RecalculationChunk.objects.filter(job_id=job_id).exists():
        return 0
    return chunks_work(job_id=job_id, params=job.params)

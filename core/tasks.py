"""Thin Celery tasks: take an id, call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.backups import backup_enqueue_nightly
from core.jobs import job_run, jobs_sweep
from core.services import tokens_purge_expired


@shared_task(name="core.run_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int) -> None:
    job_run(job_id)


@shared_task(name="core.sweep_jobs", ignore_result=True, expires=50)
def sweep_jobs() -> dict[str, Any]:
    report = jobs_sweep()
    return {"resent": report.resent, "requeued": report.requeued, "failed": report.failed}


@shared_task(name="core.ping")
def ping() -> str:
    return "pong"


@shared_task(name="core.purge_expired_tokens", ignore_result=True)
def purge_expired_tokens() -> int:
    return tokens_purge_expired()


@shared_task(name="core.backup_nightly", ignore_result=True, expires=3600)
def backup_nightly() -> int | None:
    """Queue the nightly backup job (a job row; the worker that claims it writes the file and prunes)."""
    job = backup_enqueue_nightly()
    return job.pk if job else None

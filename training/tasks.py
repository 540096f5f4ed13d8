"""Thin Celery tasks of the training app (the recalculation job itself runs through ``core.run_job``)."""

from __future__ import annotations

from celery import shared_task

from training.recalculation import recalculation_help


@shared_task(
    name="training.recalculate_help",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    expires=3600,
)
def recalculate_help(job_id: int) -> int:
    """Help a running recalculation job: claim and process its chunks until none is left."""
    return recalculation_help(job_id=job_id)

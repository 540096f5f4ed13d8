"""Thin Celery tasks of the readiness app."""

from __future__ import annotations

from celery import shared_task

from planning.readiness.refit import nightly_refit


@shared_task(name="readiness.nightly_refit", ignore_result=True, expires=3600)
def nightly_refit_task() -> int | None:
    run = nightly_refit()
    return run.pk if run else None

"""Thin Celery tasks of planning (plan jobs run through core's ``core.run_job``)."""

from __future__ import annotations

from celery import shared_task

from planning.monitoring import record_library_size


@shared_task(name="planning.record_library_size", ignore_result=True, expires=240)
def record_library_size_task() -> int:
    """Sample the published-movement count so the "Movement library below 8" rule always has data."""
    return record_library_size()

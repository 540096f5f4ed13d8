"""Thin Celery tasks of the feedback app."""

from __future__ import annotations

from celery import shared_task

from feedback.rollup import rebuild


@shared_task(name="feedback.rebuild_counts", ignore_result=True)
def rebuild_counts() -> int:
    return rebuild()

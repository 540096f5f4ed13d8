"""Thin Celery tasks of the experiments app."""

from __future__ import annotations

from celery import shared_task

from rollout.experiments.analysis import experiments_analyse_running


@shared_task(name="experiments.analyse_running", ignore_result=True, expires=3000)
def analyse_running() -> list[int]:
    return experiments_analyse_running()

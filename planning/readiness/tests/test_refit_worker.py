"""A full refit on a real Celery worker that is SIGKILLed mid-way: the previous version keeps serving, a second
refit is refused while the dead one holds the slot, and the re-sent job finishes the refit on a new worker."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from conftest import wait_for
from core.jobs import jobs_sweep
from planning.readiness.models import ModelOutput, PopulationModel, RefitRun
from planning.readiness.refit import RefitAlreadyRunning, refit_start
from planning.readiness.tests.conftest import run_queued_jobs

pytestmark = pytest.mark.system
ATHLETES = 60
CHUNK = 5


class OutputsWriteLock:
    """Another client holding writes to ``model_outputs`` (SQLite: the database; PostgreSQL: the table)."""

    def __init__(self) -> None:
        cfg = connection.settings_dict
        self.sqlite = connection.vendor == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(cfg["NAME"], timeout=30, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg  # only on the PostgreSQL tier

            self.conn = psycopg.connect(
                dbname=cfg["NAME"],
                user=cfg.get("USER") or None,
                host=cfg.get("HOST") or "127.0.0.1",
                port=cfg.get("PORT") or 5432,
                password=cfg.get("PASSWORD") or None,
            )
            self.conn.execute("LOCK TABLE model_outputs IN EXCLUSIVE MODE")

    def release(self) -> None:
        if self.sqlite:
            self.conn.execute("ROLLBACK")
        else:
            self.conn.rollback()
        self.conn.close()


def test_killed_refit_leaves_the_previous_version_serving(
    start_worker: Any,
    make_user: Any,
    sessions_for: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    client_for: Any,
) -> None:
    athletes = [make_user("athlete") for _ in range(ATHLETES)]
    for k, athlete in enumerate(athletes):
        sessions_for(athlete, 12, seed=k)
    refit_start(reason="first")
    run_queued_jobs()
    serving = PopulationModel.objects.get(status="active").version
    monkeypatch.setenv("READINESS_REFIT_CHUNK_ATHLETES", str(CHUNK))  # the worker writes in small chunks

    first = start_worker()
    run = refit_start(reason="to be killed")
    assert wait_for(lambda: RefitRun.objects.get(pk=run.pk).athletes_done >= CHUNK, timeout=90, interval=0.005), (
        first.log()
    )
    lock = OutputsWriteLock()  # the worker blocks on its next chunk, mid-refit
    try:
        time.sleep(1.0)
        first.kill()
    finally:
        lock.release()
    run.refresh_from_db()
    assert run.current and run.athletes_done < ATHLETES and run.version is not None
    assert PopulationModel.objects.get(status="active").version == serving
    assert PopulationModel.objects.get(version=run.version).status == "building"
    model = client_for(athletes[3]).get(f"/api/v1/athletes/{athletes[3].pk}/model").json()
    assert model["model_version"] == serving and model["sessions_included"] == 12
    with pytest.raises(RefitAlreadyRunning):
        refit_start(reason="while the dead one holds the slot")

    jobs_sweep(now=timezone.now() + timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS + 5))
    second = start_worker()
    assert wait_for(lambda: not RefitRun.objects.get(pk=run.pk).current, timeout=120), second.log()
    run.refresh_from_db()
    assert run.status == "succeeded"
    active = PopulationModel.objects.get(status="active")
    assert active.version == run.version
    assert ModelOutput.objects.filter(model_version=active.version).count() == ATHLETES

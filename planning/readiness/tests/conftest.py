from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import REPO
from core.jobs import job_run
from core.models import Job
from planning.models import PlanJob
from planning.readiness import engine
from planning.readiness.models import CheckIn, TrainingSession
from planning.services.plans import plan_job_request, plan_job_run

FOUNDATIONAL = REPO / "planning" / "data" / "movements-foundational.json"
PLAN_BODY = {"weeklyGoalDays": 3, "availabilityDays": 3, "goals": ["strength"], "experience": "intermediate"}


@pytest.fixture(autouse=True)
def _fresh_engine_cache() -> Any:
    engine.invalidate()
    yield
    engine.invalidate()


def run_queued_jobs() -> int:
    """Run every queued job in-process (what a worker would do); returns how many ran."""
    ran = 0
    for job_id in Job.objects.filter(status=Job.Status.QUEUED).order_by("id").values_list("pk", flat=True):
        job_run(job_id)
        ran += 1
    return ran


@pytest.fixture
def sessions_for() -> Callable[..., list[TrainingSession]]:
    """Bulk-create ``n`` completed sessions with check-ins and frozen features for ``athlete``."""

    def make(athlete: Any, n: int, *, seed: int = 1, beta: np.ndarray | None = None) -> list[TrainingSession]:
        rng = np.random.default_rng(seed)
        b = beta if beta is not None else np.array([6.0, 0.4, 0.5, -0.3, -0.3, 0.1])
        xs = rng.normal(0, 1, (n, 5))
        checkins = CheckIn.objects.bulk_create(
            [
                CheckIn(
                    athlete=athlete,
                    date=date(2026, 1, 1) + timedelta(days=i),
                    sleep_hours=7 + xs[i, 0],
                    energy_level=3,
                    stress_level=2,
                )
                for i in range(n)
            ]
        )
        rows = []
        for x, checkin in zip(xs, checkins, strict=True):
            quality = int(np.clip(round(float(np.concatenate([[1.0], x]) @ b + rng.normal(0, 1))), 1, 10))
            rows.append(
                TrainingSession(
                    athlete=athlete,
                    date=checkin.date,
                    completed=True,
                    session_quality=quality,
                    in_model=True,
                    checkin=checkin,
                    x_sleep=x[0],
                    x_energy=x[1],
                    x_stress=x[2],
                    x_soreness=x[3],
                    x_form=x[4],
                    completed_at=timezone.now(),
                )
            )
        return TrainingSession.objects.bulk_create(rows)

    return make


@pytest.fixture
def plan_for(db: Any) -> Callable[..., PlanJob]:
    """A plan job for ``athlete`` through planning's services (the foundational library, imported once):
    generated and completed unless ``run=False`` (then it stays queued)."""
    imported: list[bool] = []

    def make(athlete: Any, *, run: bool = True, weeks: int = 4) -> PlanJob:
        if not imported:
            call_command("import_movements", str(FOUNDATIONAL), "--publish", stdout=io.StringIO())
            imported.append(True)
        plan_job, _ = plan_job_request(
            requester=athlete, data={**PLAN_BODY, "userId": athlete.pk, "durationWeeks": weeks}
        )
        if run:
            plan_job_run(plan_job_id=str(plan_job.pk))
            plan_job.refresh_from_db()
        return plan_job

    return make

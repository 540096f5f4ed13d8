"""The demo seeder draws sessions from a known model; a refit on them recovers it (within sampling error). The
regular athlete's sessions link to their demo plan."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from planning.engine.days import session_days
from planning.models import PlanJob
from planning.readiness.demo import DEMO_MU, seed_readiness_demo
from planning.readiness.models import ModelOutput, PopulationModel, RefitRun, TrainingSession
from planning.readiness.tests.conftest import run_queued_jobs

pytestmark = pytest.mark.django_db


def test_refit_on_demo_data_recovers_the_known_population(demo_users: Any) -> None:
    summary = seed_readiness_demo(demo_users)
    assert "sessions" in summary and seed_readiness_demo(demo_users) == "already seeded"
    assert RefitRun.objects.filter(trigger="demo").exists()
    run_queued_jobs()
    active = PopulationModel.objects.get(status="active")
    assert active.source == "fitted"
    mu = np.asarray(active.mu)
    # 39 athletes, quality rounded to whole points: the intercept within 0.5, the slopes within 0.25
    assert abs(mu[0] - DEMO_MU[0]) < 0.5
    assert np.all(np.abs(mu[1:] - DEMO_MU[1:]) < 0.25)
    phases = set(ModelOutput.objects.filter(model_version=active.version).values_list("phase", flat=True))
    assert phases == {"cold_start", "learning", "personalized"}


def test_the_regular_athletes_sessions_link_to_the_demo_plan(demo_users: Any, plan_for: Any) -> None:
    """Planning's seeder queued a plan for 'athlete': the readiness seeder generates it and links the sessions
    that fall on its session days, counting the plan from the first session's date."""
    queued = plan_for(demo_users.regular, run=False)
    summary = seed_readiness_demo(demo_users)
    plan_job = PlanJob.objects.get(pk=queued.pk)
    assert plan_job.status == PlanJob.Status.COMPLETED
    days = session_days(plan_job.result_data["plan"])
    sessions = list(TrainingSession.objects.filter(athlete=demo_users.regular).order_by("date"))
    linked = [s for s in sessions if s.plan_job_id is not None]
    assert linked and linked[0] == sessions[0] and linked[0].plan_day == days[0]
    assert f"{len(linked)} of 'athlete' linked to plan job {plan_job.pk}" in summary
    for session in linked:
        assert session.plan_job_id == plan_job.pk and session.plan_day in days
        assert (session.date - sessions[0].date).days == session.plan_day - days[0]  # one calendar for the plan
    others = TrainingSession.objects.exclude(athlete=demo_users.regular)
    assert not others.filter(plan_job__isnull=False).exists()

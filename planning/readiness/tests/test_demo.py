"""The demo seeder draws sessions from a known model; a refit on them recovers it (within sampling error)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from planning.readiness.demo import DEMO_MU, seed_readiness_demo
from planning.readiness.models import ModelOutput, PopulationModel, RefitRun
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

"""The experiments demo seeder shows its three verdicts; a registered shadow comparison runs as a job."""

from __future__ import annotations

from typing import Any

import pytest

from core.jobs import job_enqueue, job_run
from rollout.experiments.demo import DEMO, seed_experiments_demo
from rollout.experiments.models import ExperimentResult, ShadowRun
from rollout.shadow import ShadowComparison, ShadowItem, register_shadow_comparison

pytestmark = pytest.mark.django_db


def test_demo_experiments_show_ship_keep_running_and_invalid(demo_users: Any) -> None:
    seed_experiments_demo(demo_users)
    for key, _name, _days, _arms, expected in DEMO:
        assert ExperimentResult.objects.filter(experiment__key=key).latest("computed_at").verdict == expected
    assert seed_experiments_demo(demo_users) == "already seeded"


def test_a_registered_shadow_comparison_runs_as_a_job() -> None:
    register_shadow_comparison(
        ShadowComparison(
            "test-doubling", "x vs 2x", run=lambda: [ShadowItem(i, float(i), 2.0 * i) for i in range(1, 6)]
        )
    )
    job = job_enqueue(kind="experiments.shadow", params={"name": "test-doubling"})
    assert job_run(job.pk).status == "succeeded"
    run = ShadowRun.objects.get(job=job)
    assert run.compared == 5 and run.summary["mean_relative_difference"] == pytest.approx(1.0)

"""planning.plan_score as an experiment metric: per-user means by variant through the analysis's SQL, on synthetic
rows and on plans generated and scored by the real job."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from waffle.testutils import override_flag

from conftest import REPO
from core.jobs import job_run
from core.models import User
from planning.engine.contract import payload_failures
from planning.experiment_metrics import write_scored_plans
from planning.models import PlanJob
from planning.services.plans import plan_job_request
from rollout import flags
from rollout.experiments.analysis import metric_sums
from rollout.experiments.models import Experiment, Exposure
from rollout.experiments.registry import metric_source
from rollout.experiments.services import MetricSpec, VariantSpec, experiment_create, experiment_start

pytestmark = pytest.mark.django_db

SOURCE = "planning.plan_score"


def _experiment(key: str) -> Experiment:
    experiment_create(
        key=key,
        name=key,
        variants=[VariantSpec("control", 50.0), VariantSpec("treatment", 50.0)],
        metrics=[MetricSpec(SOURCE, "primary")],
        hypothesis="a better plan generator scores higher",
        actor=None,
    )
    return experiment_start(key=key, now=timezone.now() - timedelta(days=10))


def _expose(experiment: Experiment, variant: str, *users: Any) -> None:
    Exposure.objects.bulk_create(
        [
            Exposure(experiment=experiment, user_id=u.pk, variant=variant, exposed_at=experiment.started_at)
            for u in users
        ]
    )


def _finished(plan_job: PlanJob, at: datetime, **fields: Any) -> None:
    PlanJob.objects.filter(pk=plan_job.pk).update(finished_at=at, **fields)


def test_source_is_registered_as_a_mean_to_increase() -> None:
    source = metric_source(SOURCE)
    assert source is not None and source.owner == "planning" and source.write_events is not None
    assert (source.kind, source.direction) == ("mean", "increase")


def test_per_user_mean_scores_by_variant_ignoring_unscored_early_and_unexposed_plans(make_user: Any) -> None:
    experiment = _experiment("plan-score")
    c1, c2, t1, t2, outsider = (make_user("athlete") for _ in range(5))
    _expose(experiment, "control", c1, c2)
    _expose(experiment, "treatment", t1, t2)
    after = experiment.started_at + timedelta(days=1)
    write_scored_plans(
        [
            (c1.pk, 0.5, after),
            (c1.pk, 0.7, after + timedelta(hours=1)),  # c1: 0.6
            (c2.pk, 0.4, after),  # c2: 0.4
            (t1.pk, 0.8, after),  # t1: 0.8
            (t2.pk, 0.9, after),
            (t2.pk, 0.7, after),  # t2: 0.8
            (c2.pk, 0.0, experiment.started_at - timedelta(hours=1)),  # before the exposure
            (outsider.pk, 0.1, after),  # never exposed
        ]
    )
    # Plans without a score (flag off, failed, still queued) are not events.
    unscored = PlanJob.objects.create(user=t1, request={}, status=PlanJob.Status.COMPLETED, result_data={"plan": {}})
    _finished(unscored, after)
    failed = PlanJob.objects.create(user=c1, request={}, status=PlanJob.Status.FAILED, error="no movement")
    _finished(failed, after)
    PlanJob.objects.create(user=t2, request={})

    sums = metric_sums(experiment, SOURCE)
    assert set(sums) == {"control", "treatment"}
    control, treatment = sums["control"], sums["treatment"]
    assert control.n == 2 and control.mean == pytest.approx(0.5)
    assert control.squares == pytest.approx(0.6**2 + 0.4**2)
    assert treatment.n == 2 and treatment.mean == pytest.approx(0.8)
    assert treatment.squares == pytest.approx(0.8**2 + 0.8**2)


def test_synthetic_plans_carry_a_contract_valid_score() -> None:
    user = User.objects.create_user(username="synthetic-plan", password="pw")
    at = timezone.now() - timedelta(days=2)
    assert write_scored_plans([(user.pk, 0.73456, at), (user.pk, 1.7, at), (user.pk, -3.0, at)]) == 3
    rows = list(PlanJob.objects.filter(user=user).order_by("score_total"))
    assert [row.score_total for row in rows] == pytest.approx([0.0, 0.7346, 1.0], abs=1e-4)
    for row in rows:
        scoring = row.result_data["scoring"]
        assert payload_failures(scoring) == []
        assert scoring["total"] == row.score_total and row.status == PlanJob.Status.COMPLETED
        assert row.created_at <= row.started_at < row.finished_at == at


def test_plans_scored_by_the_real_job_are_the_events(make_user: Any) -> None:
    """Control generates with the scoring flag off (no score: not an event), treatment with it on."""
    call_command(
        "import_movements", str(REPO / "planning/data/movements-foundational.json"), "--publish", stdout=io.StringIO()
    )
    experiment = _experiment("plan-score-real")
    control, treatment = make_user("athlete"), make_user("athlete")
    _expose(experiment, "control", control)
    _expose(experiment, "treatment", treatment)
    body = {"weeklyGoalDays": 4, "availabilityDays": 4, "goals": ["strength"], "experience": "intermediate"}
    totals = []
    for athlete, scoring_on in ((control, False), (treatment, True), (treatment, True)):
        with override_flag("v1_planning_scoring", active=scoring_on):
            flags.reset()
            plan_job, _ = plan_job_request(requester=athlete, data={**body, "userId": athlete.pk, "durationWeeks": 4})
            job_run(plan_job.core_job_id)
        plan_job.refresh_from_db()
        assert plan_job.status == PlanJob.Status.COMPLETED
        if scoring_on:
            totals.append(plan_job.result_data["scoring"]["total"])
            assert plan_job.score_total == totals[-1]
        else:
            assert plan_job.score_total is None
    flags.reset()
    sums = metric_sums(experiment, SOURCE)
    assert set(sums) == {"treatment"}
    assert sums["treatment"].n == 1 and sums["treatment"].mean == pytest.approx(sum(totals) / 2)

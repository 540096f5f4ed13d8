"""Readiness's experiment metric sources (session quality, prediction error, plan adherence): per-user means by
variant through the analysis's SQL, with the rows that must not count present."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.utils import timezone

from planning.engine.days import session_days
from planning.models import PlanJob
from planning.readiness.experiment_metrics import (
    SYNTHETIC_PLAN,
    SYNTHETIC_PLAN_DAY,
    write_plan_sessions,
    write_predicted_sessions,
    write_reported_sessions,
)
from planning.readiness.models import TrainingSession
from planning.readiness.ops import ERROR_METRIC
from planning.readiness.services import session_create
from rollout.experiments.analysis import metric_sums
from rollout.experiments.models import Experiment, Exposure
from rollout.experiments.registry import metric_source
from rollout.experiments.services import MetricSpec, VariantSpec, experiment_create, experiment_start
from rollout.monitoring.models import MetricMinute
from rollout.monitoring.recorder import flush

pytestmark = pytest.mark.django_db

QUALITY, ERROR, ADHERENCE = "readiness.session_quality", "readiness.prediction_error", "planning.adherence"


def _experiment(key: str, source: str) -> Experiment:
    experiment_create(
        key=key,
        name=key,
        variants=[VariantSpec("control", 50.0), VariantSpec("treatment", 50.0)],
        metrics=[MetricSpec(source, "primary")],
        hypothesis="the personal model helps athletes",
        actor=None,
    )
    return experiment_start(key=key, now=timezone.now() - timedelta(days=10))


def _users(experiment: Experiment, make_user: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Two control users, two treatment users (exposed at the start) and one never exposed."""
    c1, c2, t1, t2, outsider = (make_user("athlete") for _ in range(5))
    Exposure.objects.bulk_create(
        [
            Exposure(experiment=experiment, user_id=u.pk, variant=v, exposed_at=experiment.started_at)
            for u, v in ((c1, "control"), (c2, "control"), (t1, "treatment"), (t2, "treatment"))
        ]
    )
    return c1, c2, t1, t2, outsider


def test_sources_are_registered_with_kind_and_direction() -> None:
    expected = {QUALITY: ("mean", "increase"), ERROR: ("mean", "decrease"), ADHERENCE: ("proportion", "increase")}
    for name, (kind, direction) in expected.items():
        source = metric_source(name)
        assert source is not None and source.write_events is not None
        assert (source.kind, source.direction) == (kind, direction)
    # quality and prediction error read the same rows: one scan in an analysis
    assert metric_source(QUALITY).rows_key() == metric_source(ERROR).rows_key()  # type: ignore[union-attr]


def test_session_quality_per_user_means_ignoring_open_early_and_unexposed_sessions(make_user: Any) -> None:
    experiment = _experiment("quality", QUALITY)
    c1, c2, t1, t2, outsider = _users(experiment, make_user)
    after = experiment.started_at + timedelta(days=1)
    write_reported_sessions(
        [
            (c1.pk, 6, after),
            (c1.pk, 8, after),  # c1: 7
            (c2.pk, 5, after),  # c2: 5
            (t1.pk, 9, after),  # t1: 9
            (t2.pk, 8, after),
            (t2.pk, 10.4, after),  # t2: 8 and 10 (rounded, clipped) → 9
            (c2.pk, 1, experiment.started_at - timedelta(hours=2)),  # before the exposure
            (outsider.pk, 1, after),
        ]
    )
    TrainingSession.objects.create(athlete=t1, date=after.date(), completed=False)  # planned, no quality yet
    sums = metric_sums(experiment, QUALITY)
    assert (sums["control"].n, sums["control"].total, sums["control"].squares) == (2, 12.0, 74.0)
    assert (sums["treatment"].n, sums["treatment"].total, sums["treatment"].squares) == (2, 18.0, 162.0)


def test_prediction_error_per_user_means_ignoring_sessions_without_a_prediction(make_user: Any) -> None:
    experiment = _experiment("prediction-error", ERROR)
    c1, c2, t1, t2, outsider = _users(experiment, make_user)
    after = experiment.started_at + timedelta(days=1)
    write_predicted_sessions(
        [
            (c1.pk, 1.0, after),
            (c1.pk, -2.0, after),  # c1: 1 and 2 → 1.5
            (c2.pk, 2.5, after),  # c2: 2.5
            (t1.pk, 0.5, after),  # t1: 0.5
            (t2.pk, 6.0, after),
            (t2.pk, 12.0, after),  # t2: 6 and 9 (at most 9 points) → 7.5
            (c1.pk, 9.0, experiment.started_at - timedelta(hours=2)),  # before the exposure
            (outsider.pk, 9.0, after),
        ]
    )
    write_reported_sessions([(t1.pk, 3, after), (c2.pk, 10, after)])  # completed, no prediction: not an event
    rows = TrainingSession.objects.filter(athlete=t2).values_list("session_quality", "predicted_quality")
    assert sorted(rows) == [(1, 7.0), (1, 10.0)]  # errors above 5 points: quality 1, predicted 1 + error
    sums = metric_sums(experiment, ERROR)
    assert sums["control"].n == 2 and sums["control"].mean == pytest.approx((1.5 + 2.5) / 2)
    assert sums["control"].squares == pytest.approx(1.5**2 + 2.5**2)
    assert sums["treatment"].n == 2 and sums["treatment"].mean == pytest.approx((0.5 + 7.5) / 2)
    assert sums["treatment"].squares == pytest.approx(0.5**2 + 7.5**2)


def test_prediction_error_is_the_guard_metrics_quantity(make_user: Any) -> None:
    """Sessions completed through the service: the source's per-user mean is the mean of the errors the service
    recorded for the guard rule (readiness.quality_abs_error), to the stored prediction's 3 decimals."""
    experiment = _experiment("prediction-error-real", ERROR)
    _, _, t1, _, _ = _users(experiment, make_user)
    flush()
    MetricMinute.objects.filter(metric=ERROR_METRIC).delete()
    day = timezone.localdate() - timedelta(days=1)
    for quality in (3, 9):
        session_create(athlete=t1, actor=t1, date=day, completed=True, session_quality=quality)
    flush()
    recorded = MetricMinute.objects.filter(metric=ERROR_METRIC).aggregate(total=Sum("sum"), count=Sum("count"))
    assert recorded["count"] == 2
    sums = metric_sums(experiment, ERROR)
    assert set(sums) == {"treatment"} and sums["treatment"].n == 1
    assert sums["treatment"].mean == pytest.approx(recorded["total"] / 2, abs=1e-3)


def test_adherence_is_the_share_of_due_plan_sessions_completed_as_planned(make_user: Any) -> None:
    experiment = _experiment("adherence", ADHERENCE)
    c1, c2, t1, t2, outsider = _users(experiment, make_user)
    day = experiment.started_at + timedelta(days=2)  # due two days after the exposure, before today
    write_plan_sessions(
        [
            (c1.pk, 1.0, day),
            (c1.pk, 0.0, day),  # c1: done, missed → 0.5
            (t1.pk, 1.0, day),
            (t1.pk, 0.9, day),  # t1: 1.0
            (t2.pk, 1.0, day),
            (t2.pk, 0.7, day),
            (t2.pk, 0.2, day),  # t2: 2 of 3
            (t1.pk, 0.0, experiment.started_at - timedelta(days=2)),  # due before the exposure
            (t1.pk, 0.0, timezone.now()),  # due today: not yet counted
            (t2.pk, 0.0, timezone.now() + timedelta(days=3)),  # a future session of the plan
            (outsider.pk, 1.0, day),
        ]
    )
    # The sessions link to real plans: one synthetic completed plan job per user, the session on day 1 of it.
    linked = TrainingSession.objects.filter(plan_job__isnull=False).select_related("plan_job")
    assert linked.count() == 11
    assert {(s.athlete_id, s.plan_job.user_id) for s in linked} == {(u.pk, u.pk) for u in (c1, t1, t2, outsider)}
    assert {s.plan_day for s in linked} == {SYNTHETIC_PLAN_DAY}
    plans = PlanJob.objects.filter(sessions__isnull=False).distinct()
    assert plans.count() == 4 and {p.status for p in plans} == {PlanJob.Status.COMPLETED}
    assert all(SYNTHETIC_PLAN_DAY in session_days(p.result_data["plan"]) for p in plans)
    assert not plans.filter(score_total__isnull=False).exists()  # planning.plan_score does not count them
    # c2 completed the plan's session but not as planned (deviated): 0.
    c2_plan = PlanJob.objects.create(
        user=c2, request={}, status=PlanJob.Status.COMPLETED, result_data={"plan": SYNTHETIC_PLAN}
    )
    TrainingSession.objects.create(
        athlete=c2,
        date=day.date(),
        plan_job=c2_plan,
        plan_day=SYNTHETIC_PLAN_DAY,
        completed=True,
        completed_at=day,
        session_quality=6,
        deviated_from_plan=True,
    )
    # Sessions without a plan link (or half a link) are not plan sessions.
    TrainingSession.objects.create(athlete=c2, date=day.date(), completed=True, completed_at=day, session_quality=8)
    TrainingSession.objects.create(athlete=c2, date=day.date(), plan_job=c2_plan, plan_day=None, session_quality=None)
    sums = metric_sums(experiment, ADHERENCE)
    assert (sums["control"].n, sums["control"].total, sums["control"].squares) == (2, 0.5, 0.25)
    assert sums["treatment"].n == 2 and sums["treatment"].total == pytest.approx(1 + 2 / 3)
    assert sums["treatment"].squares == pytest.approx(1 + 4 / 9)

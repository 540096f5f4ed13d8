"""Each verdict on data generated with a known effect, the SQL sums against a direct computation, the job."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from core.jobs import job_enqueue, job_run
from rollout.experiments.analysis import experiment_analyse, metric_sums, metrics_sums
from rollout.experiments.models import Experiment, ExperimentResult, Exposure
from rollout.experiments.registry import metric_source
from rollout.experiments.services import MetricSpec, VariantSpec, experiment_create, experiment_start
from rollout.experiments.testing import Arm, populate

pytestmark = pytest.mark.django_db


def _experiment(
    key: str, *, days_ago: float, primary: str = "feedback.rating", guardrail: str = "feedback.poor_rating"
) -> Experiment:
    experiment = experiment_create(
        key=key,
        name=key.replace("-", " "),
        variants=[VariantSpec("average_hr", 50.0), VariantSpec("stream", 50.0)],
        metrics=[MetricSpec(primary, "primary", mde=0.05), MetricSpec(guardrail, "guardrail")],
        hypothesis="stream-based TRIMP makes athletes happier with their numbers",
        actor=None,
    )
    experiment_start(key=key, now=timezone.now() - timedelta(days=days_ago))
    experiment.refresh_from_db()
    return experiment


def _run(experiment: Experiment, arms: list[Arm], seed: int) -> ExperimentResult:
    populate(experiment, arms, source="feedback.rating", start=experiment.started_at, seed=seed, prefix=experiment.key)
    return experiment_analyse(key=experiment.key)


def test_clear_win_with_healthy_guardrails_ships() -> None:
    experiment = _experiment("ship-me", days_ago=10)
    result = _run(experiment, [Arm("average_hr", 1100, 3.4, 0.6), Arm("stream", 1100, 3.7, 0.6)], seed=1)
    assert result.verdict == "ship", result.reason
    assert "stream improves feedback.rating" in result.reason
    primary = result.data["metrics"][1] if result.data["metrics"][0]["role"] != "primary" else result.data["metrics"][0]
    comparison = primary["comparisons"]["stream"]
    assert comparison["n_control"] == comparison["n_treatment"] == 1100
    assert comparison["relative"]["ci_low"] > 0 and comparison["p_value"] < 1e-6
    assert comparison["power_at_mde"] > 0.8
    assert result.srm_p_value == pytest.approx(1.0)


def test_harm_on_a_guardrail_means_do_not_ship() -> None:
    experiment = _experiment("harmful", days_ago=10)
    # Same mean rating (after clipping to 1–5), but a much wider spread: many more 1–2 ratings, a guardrail harm.
    result = _run(experiment, [Arm("average_hr", 1100, 3.5, 0.4), Arm("stream", 1100, 3.7, 1.6)], seed=2)
    assert result.verdict == "do_not_ship", result.reason
    assert "feedback.poor_rating (guardrail) is significantly worse in stream" in result.reason


def test_sample_ratio_mismatch_is_invalid() -> None:
    experiment = _experiment("broken-split", days_ago=10)
    result = _run(experiment, [Arm("average_hr", 1000, 3.5, 0.6), Arm("stream", 1200, 3.9, 0.6)], seed=3)
    assert result.verdict == "invalid", result.reason
    assert result.srm_p_value < 0.001 and "Sample ratio mismatch" in result.reason


def test_underpowered_experiment_keeps_running() -> None:
    experiment = _experiment("too-small", days_ago=10)
    experiment.min_users_per_variant = 100
    experiment.save()
    result = _run(experiment, [Arm("average_hr", 150, 3.5, 1.0), Arm("stream", 150, 3.55, 1.0)], seed=4)
    assert result.verdict == "keep_running", result.reason
    assert result.reason.startswith("Underpowered")


def test_too_few_days_or_users_keeps_running() -> None:
    young = _experiment("too-young", days_ago=3)
    result = _run(young, [Arm("average_hr", 1100, 3.4, 0.6), Arm("stream", 1100, 3.7, 0.6)], seed=5)
    assert result.verdict == "keep_running" and "of at least 7 days" in result.reason
    few = _experiment("too-few", days_ago=9)
    result = _run(few, [Arm("average_hr", 300, 3.4, 0.6), Arm("stream", 300, 3.7, 0.6)], seed=6)
    assert result.verdict == "keep_running" and "at least 1,000 needed" in result.reason


def test_sql_sums_match_a_direct_computation() -> None:
    experiment = _experiment("sums", days_ago=8)
    populate(
        experiment,
        [Arm("average_hr", 80, 3, 1.5), Arm("stream", 70, 4, 1.5)],
        source="feedback.rating",
        start=experiment.started_at,
        seed=7,
        prefix="sums",
    )
    # An event before a user's exposure does not count.
    early = Exposure.objects.filter(experiment=experiment).first()
    source = metric_source("feedback.rating")
    assert source is not None and source.write_events is not None
    source.write_events([(early.user_id, 1.0, experiment.started_at - timedelta(hours=1))])
    sums = metric_sums(experiment, "feedback.rating")
    rows = list(source.events().filter(exp_at__gte=experiment.started_at).values_list("exp_user", "exp_value"))
    variant_of = dict(Exposure.objects.filter(experiment=experiment).values_list("user_id", "variant"))
    for variant in ("average_hr", "stream"):
        values = np.array([v for u, v in rows if variant_of.get(u) == variant])
        assert sums[variant].n == values.size
        assert sums[variant].total == pytest.approx(values.sum())
        assert sums[variant].squares == pytest.approx((values**2).sum())


def test_analysis_runs_as_a_job_and_upserts_its_result() -> None:
    experiment = _experiment("as-job", days_ago=8)
    populate(
        experiment,
        [Arm("average_hr", 40, 3, 1), Arm("stream", 40, 3, 1)],
        source="feedback.rating",
        start=experiment.started_at,
        seed=8,
        prefix="job",
    )
    job = job_enqueue(kind="experiments.analyse", params={"experiment": experiment.key})
    finished = job_run(job.pk)
    assert finished is not None and finished.status == "succeeded"
    assert ExperimentResult.objects.filter(experiment=experiment, job=job).count() == 1
    experiment_analyse(key=experiment.key, job=job)  # a re-run of the same job replaces its row
    assert ExperimentResult.objects.filter(experiment=experiment).count() == 1


def test_grouped_sums_equal_a_direct_computation_per_user() -> None:
    """The one-scan-per-table path (``metrics_sums``: feedback.rating and feedback.poor_rating read the same
    rows, feedback.satisfied only surveys) against per-user means computed in Python on generated data with
    several events per user, events before the exposure, users without events, non-survey ratings and a
    cut-off; and against ``metric_sums`` run per source."""
    experiment = _experiment("grouped", days_ago=9)
    start = experiment.started_at
    assert start is not None
    rng = np.random.default_rng(12)
    populate(
        experiment,
        [Arm("average_hr", 60, 3, 1.5), Arm("stream", 50, 3.5, 1.5)],
        source="feedback.rating",
        start=start,
        seed=12,
        prefix="grouped",
    )
    exposures = list(Exposure.objects.filter(experiment=experiment).values_list("user_id", "exposed_at", "variant"))
    rating = metric_source("feedback.rating")
    assert rating is not None and rating.write_events is not None
    extra = []
    for user_id, exposed_at, _ in exposures:
        for _ in range(int(rng.integers(0, 4))):
            hours = float(rng.uniform(-48, 24 * 8))  # some before the exposure, some after the cut-off
            extra.append((user_id, float(rng.integers(1, 6)), exposed_at + timedelta(hours=hours)))
    rating.write_events(extra)
    # A quarter of the rated rows become bug reports: still ratings, no longer surveys.
    rated = list(rating.queryset().order_by("pk").values_list("pk", flat=True))
    rating.queryset().filter(pk__in=rated[::4]).update(type="bug_report")
    until = start + timedelta(days=6)
    names = ["feedback.rating", "feedback.poor_rating", "feedback.satisfied"]
    keys = [source.rows_key() for source in map(metric_source, names) if source is not None]
    assert keys[0] == keys[1] != keys[2]  # two queries: rating + poor_rating in one, satisfied alone
    grouped = metrics_sums(experiment, names, until=until)

    exposed = {user_id: (at, variant) for user_id, at, variant in exposures}
    rows = list(rating.queryset().values_list("user_id", "created_at", "rating", "type"))
    values = {
        "feedback.rating": lambda r, t: float(r),
        "feedback.poor_rating": lambda r, t: 1.0 if r <= 2 else 0.0,
        "feedback.satisfied": lambda r, t: (1.0 if r >= 4 else 0.0) if t == "satisfaction_survey" else None,
    }
    for name in names:
        per_user: dict[int, list[float]] = {}
        for user_id, at, r, kind in rows:
            value = values[name](r, kind)
            if user_id in exposed and exposed[user_id][0] <= at < until and value is not None:
                per_user.setdefault(user_id, []).append(value)
        for variant in ("average_hr", "stream"):
            means = np.array([np.mean(v) for u, v in per_user.items() if exposed[u][1] == variant])
            got = grouped[name][variant]
            assert got.n == means.size > 0
            assert got.total == pytest.approx(means.sum(), rel=1e-12)
            assert got.squares == pytest.approx((means**2).sum(), rel=1e-12)
        single = metric_sums(experiment, name, until=until)
        assert {v: s.n for v, s in single.items()} == {v: s.n for v, s in grouped[name].items()}
        for variant, sums in single.items():
            assert sums.total == pytest.approx(grouped[name][variant].total, rel=1e-12)

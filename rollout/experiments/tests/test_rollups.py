"""Incremental refresh: what an hourly analysis folds equals the from-scratch computation over every event."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from rollout.experiments.analysis import experiment_analyse, metrics_sums
from rollout.experiments.models import Experiment, ExperimentResult, Exposure, MetricRollup
from rollout.experiments.registry import metric_source
from rollout.experiments.services import MetricSpec, VariantSpec, experiment_create, experiment_start, experiment_stop
from rollout.experiments.testing import Arm, populate, synthetic_users

pytestmark = pytest.mark.django_db

SOURCES = ["feedback.rating", "feedback.poor_rating", "feedback.satisfied"]
SETTLE = timedelta(seconds=300)


def _experiment(key: str) -> Experiment:
    experiment_create(
        key=key,
        name=key,
        variants=[VariantSpec("average_hr", 50.0), VariantSpec("stream", 50.0)],
        metrics=[
            MetricSpec("feedback.rating", "primary", mde=0.05),
            MetricSpec("feedback.poor_rating", "guardrail"),
            MetricSpec("feedback.satisfied", "secondary"),
        ],
        hypothesis="incremental sums are exact",
        actor=None,
    )
    experiment_start(key=key, now=timezone.now() - timedelta(days=10))
    experiment = Experiment.objects.get(key=key)
    populate(
        experiment,
        [Arm("average_hr", 120, 3.2, 1.0), Arm("stream", 110, 3.6, 1.0)],
        source="feedback.rating",
        start=experiment.started_at,
        seed=31,
        prefix=key,
    )
    return experiment


def _more_events(experiment: Experiment, rng: np.random.Generator, times: tuple[datetime, datetime], k: int) -> None:
    """``k`` ratings by exposed users (some repeat raters, some first-timers), at random times in ``times``."""
    users = list(Exposure.objects.filter(experiment=experiment).values_list("user_id", flat=True))
    source = metric_source("feedback.rating")
    assert source is not None and source.write_events is not None
    lo, hi = times
    span = (hi - lo).total_seconds()
    events = [
        (int(rng.choice(users)), float(rng.integers(1, 6)), lo + timedelta(seconds=float(rng.uniform(0, span))))
        for _ in range(k)
    ]
    source.write_events(events)


def _metric(result: ExperimentResult, source: str) -> dict:
    return next(m for m in result.data["metrics"] if m["source"] == source)


def _assert_equals_direct(experiment: Experiment, result: ExperimentResult, until: datetime | None = None) -> None:
    direct = metrics_sums(experiment, SOURCES, until=until)
    for name in SOURCES:
        metric = _metric(result, name)
        for variant in ("average_hr", "stream"):
            want = direct[name].get(variant)
            got = metric["variants"][variant]
            assert got["n"] == (want.n if want else 0), (name, variant)
            if want:
                assert got["mean"] == pytest.approx(want.mean, rel=1e-12), (name, variant)


def _assert_state_equals_direct(experiment: Experiment, watermark: datetime) -> None:
    direct = metrics_sums(experiment, SOURCES, until=watermark)
    for rollup in MetricRollup.objects.filter(experiment=experiment):
        assert rollup.folded_until == watermark
        want = {v: s for v, s in direct[rollup.source].items()}
        assert set(rollup.sums) == set(want), rollup.source
        for variant, (n, total, squares) in rollup.sums.items():
            assert n == want[variant].n
            assert total == pytest.approx(want[variant].total, rel=1e-9)
            assert squares == pytest.approx(want[variant].squares, rel=1e-9)


def test_hourly_runs_fold_only_new_events_and_equal_the_full_computation() -> None:
    experiment = _experiment("rollup-hourly")
    rng = np.random.default_rng(5)
    t0 = timezone.now()
    first = experiment_analyse(key=experiment.key, now=t0)
    assert {r["mode"] for r in first.data["rollups"].values()} == {"full"}
    _assert_equals_direct(experiment, first)
    folded = MetricRollup.objects.get(experiment=experiment, source="feedback.rating").folded_until
    assert folded == t0 - SETTLE

    # An hour of new ratings: repeat raters (their mean moves) and first-time raters; some in the settle window.
    t1 = t0 + timedelta(hours=1)
    _more_events(experiment, rng, (folded, t1), 150)
    second = experiment_analyse(key=experiment.key, now=t1)
    rollup = second.data["rollups"]["feedback.rating"]
    assert rollup["mode"] == "incremental" and rollup["folded_users"] > 0
    _assert_equals_direct(experiment, second)

    # The stored state equals the from-scratch sums of the events before the new watermark.
    _assert_state_equals_direct(experiment, t1 - SETTLE)

    # Nothing new: nothing folded, same answer.
    third = experiment_analyse(key=experiment.key, now=t1)
    assert third.data["rollups"]["feedback.rating"]["mode"] == "none"
    assert _metric(third, "feedback.rating")["variants"] == _metric(second, "feedback.rating")["variants"]


def test_events_after_the_watermark_count_without_being_stored() -> None:
    experiment = _experiment("rollup-tail")
    t0 = timezone.now()
    experiment_analyse(key=experiment.key, now=t0)
    newcomer = synthetic_users("rollup-tail-new", 1)[0]
    Exposure.objects.create(experiment=experiment, user_id=newcomer, variant="stream", exposed_at=t0 - SETTLE)
    source = metric_source("feedback.rating")
    assert source is not None and source.write_events is not None
    source.write_events([(newcomer, 5.0, t0 - timedelta(seconds=10))])  # inside the settle window
    result = experiment_analyse(key=experiment.key, now=t0)
    assert result.data["rollups"]["feedback.rating"]["tail_users"] == 1
    _assert_equals_direct(experiment, result)
    _assert_state_equals_direct(experiment, t0 - SETTLE)  # the newcomer is counted, not stored
    stored = MetricRollup.objects.get(experiment=experiment, source="feedback.rating").sums["stream"][0]
    assert _metric(result, "feedback.rating")["variants"]["stream"]["n"] == stored + 1


def test_a_changed_event_is_corrected_by_the_full_rebuild() -> None:
    experiment = _experiment("rollup-rebuild")
    t0 = timezone.now()
    experiment_analyse(key=experiment.key, now=t0)
    source = metric_source("feedback.rating")
    assert source is not None
    # Rows folded already are edited: the incremental state does not see it (events are taken as immutable)...
    source.queryset().filter(rating__lte=2).update(rating=5)
    stale = experiment_analyse(key=experiment.key, now=t0 + timedelta(minutes=5))
    direct = metrics_sums(experiment, SOURCES)
    assert (
        _metric(stale, "feedback.poor_rating")["variants"]["stream"]["n"] == direct["feedback.poor_rating"]["stream"].n
    )
    assert _metric(stale, "feedback.poor_rating")["variants"]["stream"]["mean"] != pytest.approx(
        direct["feedback.poor_rating"]["stream"].mean
    )
    # ...until a full rebuild: asked for, or due after EXPERIMENT_ROLLUP_REBUILD_HOURS.
    rebuilt = experiment_analyse(key=experiment.key, now=t0 + timedelta(minutes=10), full=True)
    assert rebuilt.data["rollups"]["feedback.rating"]["mode"] == "full"
    _assert_equals_direct(experiment, rebuilt)
    source.queryset().filter(rating=5).update(rating=1)
    due = experiment_analyse(key=experiment.key, now=t0 + timedelta(hours=25))
    assert due.data["rollups"]["feedback.rating"]["mode"] == "full"
    _assert_equals_direct(experiment, due)


def test_a_stop_before_the_watermark_rebuilds_for_the_window() -> None:
    experiment = _experiment("rollup-stop")
    t0 = timezone.now()
    experiment_analyse(key=experiment.key, now=t0)
    stop = experiment.started_at + timedelta(days=1, hours=12)  # in the middle of the generated events
    rng = np.random.default_rng(9)
    _more_events(experiment, rng, (experiment.started_at, t0 - SETTLE), 80)  # back-dated, behind the watermark
    experiment_stop(key=experiment.key, now=stop)
    result = experiment_analyse(key=experiment.key, now=t0 + timedelta(minutes=1))
    assert result.data["rollups"]["feedback.rating"]["mode"] == "full"
    _assert_equals_direct(experiment, result, until=stop)
    again = experiment_analyse(key=experiment.key, now=t0 + timedelta(hours=2))
    assert again.data["rollups"]["feedback.rating"]["mode"] == "none"
    _assert_equals_direct(experiment, again, until=stop)

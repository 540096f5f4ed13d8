"""Assignment is deterministic Unleash variant hashing behind the flag; an exposure already logged costs no query."""

from __future__ import annotations

from collections import Counter
from typing import Any

import mmh3
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import ServiceError
from rollout.experiments.models import Exposure
from rollout.experiments.services import (
    MetricSpec,
    VariantSpec,
    experiment_assign,
    experiment_create,
    experiment_start,
    experiment_stop,
    exposures_forget_seen,
    exposures_log,
    variant_for,
)
from rollout.hashing import VARIANT_SEED
from rollout.services import flag_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_process_state() -> None:
    exposures_forget_seen()


def _running(key: str = "trimp-method", weights: tuple[float, float] = (50.0, 50.0), percent: int = 100) -> Any:
    experiment = experiment_create(
        key=key,
        name="TRIMP method",
        variants=[VariantSpec("average_hr", weights[0]), VariantSpec("stream", weights[1], configuration={"m": 1})],
        metrics=[MetricSpec("feedback.rating", "primary")],
        actor=None,
    )
    flag_update(name=key, changes={"percent": percent}, actor=None, source="command", reason="test")
    experiment_start(key=key)
    return experiment


def test_variant_hash_is_unleash_normalized_value() -> None:
    arms = (("a", 500, {}), ("b", 1000, {}))
    for user_id in range(200):
        expected = mmh3.hash(f"exp:{user_id}", VARIANT_SEED, signed=False) % 1000 + 1
        assert variant_for("exp", user_id, arms, 1000) == ("a" if expected <= 500 else "b")


def test_assignment_follows_weights_and_is_stable(make_user: Any) -> None:
    _running(weights=(20.0, 80.0))
    counts = Counter(experiment_assign(key="trimp-method", user_id=i, log_exposure=False).variant for i in range(4000))
    assert abs(counts["stream"] / 4000 - 0.8) < 0.03
    first = experiment_assign(key="trimp-method", user_id=17, log_exposure=False)
    assert all(experiment_assign(key="trimp-method", user_id=17).variant == first.variant for _ in range(3))


def test_flag_decides_who_takes_part() -> None:
    _running(percent=0)
    assignment = experiment_assign(key="trimp-method", user_id=5)
    assert assignment.variant is None and assignment.reason.startswith("flag:")
    assert not Exposure.objects.exists()


def test_exposure_logged_once_and_repeat_costs_no_query() -> None:
    experiment = _running()
    experiment_assign(key="trimp-method", user_id=42)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            experiment_assign(key="trimp-method", user_id=42)
    assert len(queries) == 0
    assert Exposure.objects.filter(experiment=experiment, user_id=42).count() == 1


def test_another_process_logging_the_same_user_adds_no_row() -> None:
    experiment = _running()
    exposures_log(entries=[(experiment.pk, 7, "stream"), (experiment.pk, 8, "average_hr")])
    exposures_forget_seen()  # a second process: it has not seen these users
    assert exposures_log(entries=[(experiment.pk, 7, "stream"), (experiment.pk, 9, "stream")]) == 2
    assert Exposure.objects.filter(experiment=experiment).count() == 3


def test_stopped_experiment_assigns_nobody() -> None:
    _running()
    experiment_stop(key="trimp-method")
    assert experiment_assign(key="trimp-method", user_id=1).reason == "not_running"


@pytest.mark.parametrize(
    ("variants", "metrics", "message"),
    [
        ([VariantSpec("a", 60.0), VariantSpec("b", 50.0)], [MetricSpec("feedback.rating", "primary")], "add up to 100"),
        ([VariantSpec("a", 100.0)], [MetricSpec("feedback.rating", "primary")], "at least two variants"),
        ([VariantSpec("a", 50.0), VariantSpec("b", 50.0)], [MetricSpec("nope", "primary")], "Unknown metric source"),
        ([VariantSpec("a", 50.0), VariantSpec("b", 50.0)], [MetricSpec("feedback.rating", "guardrail")], "one primary"),
    ],
)
def test_bad_definitions_are_refused(variants: list[VariantSpec], metrics: list[MetricSpec], message: str) -> None:
    with pytest.raises(ServiceError, match=message):
        experiment_create(key="bad", name="bad", variants=variants, metrics=metrics, actor=None)

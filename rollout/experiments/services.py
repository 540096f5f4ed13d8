"""Writes for experiments: create (from the seed's fields), start, stop, and exposure logging.

Assignment (``experiment_assign``) is the hot path: the experiment definitions are cached in-process for a
few seconds, the flag is answered from the flags snapshot, the variant by Unleash's variant hash, and an
exposure already logged by this process costs nothing (an in-process seen-set); a new one is a single
``INSERT … ON CONFLICT DO NOTHING`` (the unique constraint keeps one row per user across processes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import ConflictError, NotFoundError, ServiceError
from core.models import User
from rollout import flags
from rollout.experiments.models import Experiment, ExperimentMetric, Exposure, Variant
from rollout.experiments.registry import metric_source
from rollout.hashing import VARIANT_SEED, bucket
from rollout.models import Flag
from rollout.services import flag_create

DEFINITIONS_TTL_SECONDS = 5.0
SEEN_LIMIT = 1_000_000  # entries kept in the seen-set before it is cleared (memory bound)
WEIGHT_SCALE = 10  # traffic_percentage 50.0 → Unleash weight 500 of 1000 (one decimal of a percent)


@dataclass(frozen=True)
class VariantSpec:
    name: str
    traffic_percentage: float
    description: str = ""
    configuration: dict[str, Any] | None = None


@dataclass(frozen=True)
class MetricSpec:
    source: str
    role: str
    kind: str | None = None
    direction: str | None = None
    mde: float = 0.05
    alpha: float = 0.05
    power: float = 0.8


@dataclass(frozen=True)
class Assignment:
    """What one user gets: ``variant`` None means not in the experiment (flag off or not running)."""

    experiment: str
    variant: str | None
    configuration: dict[str, Any]
    reason: str


# --- create / start / stop ------------------------------------------------------------------------------------


def _validate_variants(variants: list[VariantSpec]) -> None:
    if len(variants) < 2:
        raise ServiceError("invalid_experiment", "An experiment needs at least two variants (control first).")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ServiceError("invalid_experiment", "Variant names must be unique.")
    for variant in variants:
        if not 0 <= variant.traffic_percentage <= 100:
            raise ServiceError("invalid_experiment", f"variant {variant.name!r}: traffic_percentage must be 0–100.")
    total = sum(v.traffic_percentage for v in variants)
    if abs(total - 100.0) > 1e-6:
        raise ServiceError("invalid_experiment", f"Variant traffic percentages must add up to 100, not {total:g}.")


def _validate_metrics(metrics: list[MetricSpec]) -> None:
    roles = {choice for choice, _ in ExperimentMetric.Role.choices}
    if sum(1 for m in metrics if m.role == ExperimentMetric.Role.PRIMARY) != 1:
        raise ServiceError("invalid_experiment", "An experiment needs exactly one primary metric.")
    for metric in metrics:
        if metric_source(metric.source) is None:
            raise ServiceError("invalid_experiment", f"Unknown metric source {metric.source!r}.")
        if metric.role not in roles:
            raise ServiceError("invalid_experiment", f"metric {metric.source!r}: role must be one of {sorted(roles)}.")
        if metric.kind not in (None, "mean", "proportion"):
            raise ServiceError("invalid_experiment", f"metric {metric.source!r}: kind must be mean or proportion.")
        if metric.direction not in (None, "increase", "decrease"):
            raise ServiceError("invalid_experiment", f"metric {metric.source!r}: direction must be increase/decrease.")
        if not (0 < metric.alpha < 1 and 0 < metric.power < 1 and metric.mde > 0):
            raise ServiceError("invalid_experiment", f"metric {metric.source!r}: need 0<alpha<1, 0<power<1, mde>0.")


def _metric_row(experiment: Experiment, spec: MetricSpec) -> ExperimentMetric:
    source = metric_source(spec.source)
    assert source is not None  # validated
    return ExperimentMetric(
        experiment=experiment,
        source=spec.source,
        role=spec.role,
        kind=spec.kind or source.kind,
        direction=spec.direction or source.direction,
        mde=spec.mde,
        alpha=spec.alpha,
        power=spec.power,
    )


@transaction.atomic
def experiment_create(
    *,
    key: str,
    name: str,
    variants: list[VariantSpec],
    metrics: list[MetricSpec],
    flag_name: str | None = None,
    description: str = "",
    hypothesis: str = "",
    test_type: str = "",
    owner: User | None = None,
    min_days: int = 7,
    min_users_per_variant: int = 1000,
    actor: User | None = None,
    source: str = "api",
) -> Experiment:
    """Create a draft experiment. ``flag_name`` (default: ``key``) decides who takes part; a missing flag is
    created (through the flag services, audited) with no targeting, so nobody is in until ops target it."""
    _validate_variants(variants)
    _validate_metrics(metrics)
    if Experiment.objects.filter(key=key).exists():
        raise ConflictError("experiment_exists", f"An experiment {key!r} exists already.")
    flag = Flag.objects.filter(name=flag_name or key).first()
    if flag is None:
        flag, _ = flag_create(
            name=flag_name or key,
            changes={},
            description=f"Who takes part in experiment {key}.",
            actor=actor,
            source=source,
            reason=f"experiment {key} created",
        )
    experiment = Experiment.objects.create(
        key=key,
        name=name,
        description=description,
        hypothesis=hypothesis,
        test_type=test_type,
        flag=flag,
        owner=owner,
        min_days=min_days,
        min_users_per_variant=min_users_per_variant,
    )
    Variant.objects.bulk_create(
        Variant(
            experiment=experiment,
            name=v.name,
            description=v.description,
            traffic_percentage=v.traffic_percentage,
            configuration=v.configuration or {},
            position=i,
        )
        for i, v in enumerate(variants)
    )
    ExperimentMetric.objects.bulk_create(_metric_row(experiment, m) for m in metrics)
    _definitions.invalidate()
    return experiment


def _locked(key: str) -> Experiment:
    experiment = Experiment.objects.select_for_update().filter(key=key).first()
    if experiment is None:
        raise NotFoundError("experiment_not_found", f"No experiment {key!r}.")
    return experiment


@transaction.atomic
def experiment_start(*, key: str, now: datetime | None = None) -> Experiment:
    """Draft → running (exposures are logged from now on). Starting a running experiment is a no-op."""
    experiment = _locked(key)
    if experiment.status == Experiment.Status.STOPPED:
        raise ConflictError("experiment_stopped", f"Experiment {key!r} was stopped; create a new one to re-run.")
    if experiment.status == Experiment.Status.DRAFT:
        experiment.status = Experiment.Status.RUNNING
        experiment.started_at = now or timezone.now()
        experiment.save(update_fields=["status", "started_at", "updated_at"])
        _definitions.invalidate()
    return experiment


@transaction.atomic
def experiment_stop(*, key: str, now: datetime | None = None) -> Experiment:
    """Running → stopped: no more exposures; the analysis window ends now. Stopping twice is a no-op."""
    experiment = _locked(key)
    if experiment.status == Experiment.Status.DRAFT:
        raise ConflictError("experiment_not_started", f"Experiment {key!r} has not started.")
    if experiment.status == Experiment.Status.RUNNING:
        experiment.status = Experiment.Status.STOPPED
        experiment.stopped_at = now or timezone.now()
        experiment.save(update_fields=["status", "stopped_at", "updated_at"])
        _definitions.invalidate()
    return experiment


# --- assignment and exposures (hot path) -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Definition:
    id: int
    key: str
    flag: str
    variants: tuple[tuple[str, int, dict[str, Any]], ...]  # name, cumulative weight (of total), configuration
    total_weight: int


class _Definitions:
    """Running experiments, re-read from the database at most every ``DEFINITIONS_TTL_SECONDS``."""

    def __init__(self) -> None:
        self._by_key: dict[str, _Definition] = {}
        self._loaded_at = -1e18
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self._loaded_at = -1e18

    def get(self, key: str) -> _Definition | None:
        if time.monotonic() - self._loaded_at > DEFINITIONS_TTL_SECONDS:
            with self._lock:
                self._by_key = self._load()
                self._loaded_at = time.monotonic()
        return self._by_key.get(key)

    @staticmethod
    def _load() -> dict[str, _Definition]:
        result: dict[str, _Definition] = {}
        running = Experiment.objects.filter(status=Experiment.Status.RUNNING).select_related("flag")
        for experiment in running.prefetch_related("variants"):
            cumulative = 0
            arms = []
            for variant in experiment.variants.all():
                cumulative += round(variant.traffic_percentage * WEIGHT_SCALE)
                arms.append((variant.name, cumulative, dict(variant.configuration)))
            result[experiment.key] = _Definition(
                experiment.pk, experiment.key, experiment.flag.name, tuple(arms), cumulative
            )
        return result


_definitions = _Definitions()


class _Seen:
    """(experiment id, user id) pairs this process has logged; bounded, thread-safe enough (set ops are atomic)."""

    def __init__(self) -> None:
        self.pairs: set[tuple[int, int]] = set()

    def add_new(self, pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        fresh = [pair for pair in pairs if pair not in self.pairs]
        if len(self.pairs) + len(fresh) > SEEN_LIMIT:
            self.pairs.clear()
        self.pairs.update(fresh)
        return fresh

    def clear(self) -> None:
        self.pairs.clear()


_seen = _Seen()


def variant_for(definition_key: str, user_id: int, variants: tuple[tuple[str, int, Any], ...], total: int) -> str:
    """Unleash's variant selection: ``murmur3("{key}:{user}", 86028157) % total + 1``, first cumulative ≥ it."""
    target = bucket(definition_key, user_id, seed=VARIANT_SEED, normalizer=total)
    for name, cumulative, _ in variants:
        if target <= cumulative:
            return name
    return variants[-1][0]


def experiment_assign(*, key: str, user_id: int, log_exposure: bool = True) -> Assignment:
    """The user's variant of a running experiment (None when the flag excludes them), logging the exposure."""
    definition = _definitions.get(key)
    if definition is None:
        return Assignment(key, None, {}, "not_running")
    enabled, reason = flags.evaluate(definition.flag, user_id=user_id)
    if not enabled:
        return Assignment(key, None, {}, f"flag:{reason}")
    name = variant_for(definition.key, user_id, definition.variants, definition.total_weight)
    if log_exposure:
        exposures_log(entries=[(definition.id, user_id, name)])
    configuration = next(config for arm, _, config in definition.variants if arm == name)
    return Assignment(key, name, configuration, "assigned")


def exposures_log(*, entries: Iterable[tuple[int, int, str]], at: datetime | None = None) -> int:
    """Log ``(experiment id, user id, variant)`` exposures; returns how many this process had not seen.
    Already seen → no query at all; the rest → one bulk insert that ignores rows already there."""
    by_pair = {(experiment_id, user_id): variant for experiment_id, user_id, variant in entries}
    fresh = _seen.add_new(by_pair)
    if not fresh:
        return 0
    when = at or timezone.now()
    Exposure.objects.bulk_create(
        [Exposure(experiment_id=e, user_id=u, variant=by_pair[(e, u)], exposed_at=when) for e, u in fresh],
        ignore_conflicts=True,
        batch_size=5000,
    )
    return len(fresh)


def exposures_forget_seen() -> None:
    """Clear this process's seen-set (tests, and after deleting exposures)."""
    _seen.clear()
    _definitions.invalidate()

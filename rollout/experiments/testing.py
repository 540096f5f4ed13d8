"""Synthetic experiment data with a known effect (tests, demo data and the benchmark use the same generator).

Users are created in bulk (inactive, unusable password), exposures written directly with the planned split
(or a broken one), and the metric's events created through the owning app's ``write_events``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.contrib.auth.hashers import make_password

from core.models import User
from rollout.experiments.models import Experiment, Exposure
from rollout.experiments.registry import metric_source
from rollout.experiments.rollups import rollups_reset


@dataclass(frozen=True)
class Arm:
    """``users`` exposed to ``variant``; their events of ``source`` are normal(mean, sd) (clipped by the app)."""

    variant: str
    users: int
    mean: float
    sd: float


def synthetic_users(prefix: str, count: int) -> list[int]:
    """Ids of ``count`` inactive users named ``{prefix}-{i}`` (created once; found again on re-runs)."""
    names = [f"{prefix}-{i:06d}" for i in range(count)]
    existing = dict(User.objects.filter(username__in=names).values_list("username", "pk"))
    password = make_password(None)
    missing = [User(username=name, password=password, is_active=False) for name in names if name not in existing]
    User.objects.bulk_create(missing, batch_size=5000)
    ids = dict(User.objects.filter(username__in=names).values_list("username", "pk"))
    return [ids[name] for name in names]


def populate(
    experiment: Experiment, arms: Sequence[Arm], *, source: str, start: datetime, seed: int, prefix: str
) -> int:
    """Expose each arm's users at ``start`` and write one event per user a day later. Returns the user count."""
    rng = np.random.default_rng(seed)
    ids = synthetic_users(prefix, sum(arm.users for arm in arms))
    metric = metric_source(source)
    if metric is None or metric.write_events is None:
        raise ValueError(f"metric source {source!r} cannot write synthetic events")
    exposures: list[Exposure] = []
    events = []
    offset = 0
    for arm in arms:
        values = rng.normal(arm.mean, arm.sd, size=arm.users)
        for user_id, value in zip(ids[offset : offset + arm.users], values, strict=True):
            exposures.append(Exposure(experiment=experiment, user_id=user_id, variant=arm.variant, exposed_at=start))
            events.append((user_id, float(value), start + timedelta(days=1)))
        offset += arm.users
    Exposure.objects.bulk_create(exposures, batch_size=5000, ignore_conflicts=True)
    metric.write_events(events)
    # The data is back-dated (before any watermark): the next analysis must fold it from scratch.
    rollups_reset(experiment)
    return len(ids)

"""Planning reads: the library as the generator sees it (cached per process), counts, score distribution."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max
from django.utils import timezone

from planning.engine.generator import Library, MovementSpec
from planning.models import Movement, PlanJob

_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple[object, ...], tuple[MovementSpec, ...], Library]] = {}


def published_movement_count(*, using: str = "default") -> int:
    return Movement.objects.using(using).filter(status=Movement.Status.PUBLISHED).count()


def library_specs(*, using: str = "default") -> tuple[MovementSpec, ...]:
    """Every published movement as a ``MovementSpec``; rebuilt only when the library changed (one cheap query)."""
    return _cached(using)[0]


def planning_library(*, using: str = "default") -> tuple[tuple[MovementSpec, ...], Library]:
    """The published movements and the generator's index of them (both cached per process)."""
    return _cached(using)


def _cached(using: str) -> tuple[tuple[MovementSpec, ...], Library]:
    published = Movement.objects.using(using).filter(status=Movement.Status.PUBLISHED)
    stamp = tuple(published.aggregate(n=Count("id"), changed=Max("updated_at")).values())
    with _cache_lock:
        cached = _cache.get(using)
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
    specs = tuple(
        MovementSpec(
            movement_id=m[0],
            name=m[1],
            pattern=m[2],
            level=m[3],
            equipment=tuple(m[4] or ()),
            contraindications=tuple(m[5] or ()),
            status="published",
            intensity_class=m[6],
        )
        for m in published.order_by("movement_id").values_list(
            "movement_id", "name", "pattern", "level", "equipment", "contraindications", "intensity_class"
        )
    )
    index = Library(specs)
    with _cache_lock:
        _cache[using] = (stamp, specs, index)
    return specs, index


@dataclass(frozen=True)
class ScoreDistribution:
    """Completed, scored plans of the last ``days`` days in ten 0.1-wide bins of ``total``."""

    since: datetime
    bins: tuple[int, ...]
    scored: int
    unscored: int
    mean: float | None


def score_distribution(*, days: int = 7, now: datetime | None = None) -> ScoreDistribution:
    since = (now or timezone.now()) - timedelta(days=days)
    done = PlanJob.objects.filter(status=PlanJob.Status.COMPLETED, finished_at__gte=since)
    bins = [0] * 10
    totals = list(done.filter(score_total__isnull=False).values_list("score_total", flat=True))
    for total in totals:
        bins[min(9, max(0, int(total * 10)))] += 1
    unscored = done.filter(score_total__isnull=True).count()
    mean = sum(totals) / len(totals) if totals else None
    return ScoreDistribution(since=since, bins=tuple(bins), scored=len(totals), unscored=unscored, mean=mean)

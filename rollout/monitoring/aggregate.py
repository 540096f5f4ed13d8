"""Pure aggregation and threshold maths for rule evaluation (no Django)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from rollout.histogram import merge as merge_buckets
from rollout.histogram import percentile

SEVERITY_ORDER = ("ok", "warning", "error", "critical")


@dataclass
class Stats:
    count: int = 0
    sum: float = 0.0
    sum_sq: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    buckets: dict[int, int] = field(default_factory=dict)

    def add_row(
        self, count: int, total: float, total_sq: float, lo: float, hi: float, buckets: Mapping[int | str, int]
    ) -> None:
        self.count += count
        self.sum += total
        self.sum_sq += total_sq
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)
        merge_buckets(self.buckets, buckets)

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n − 1) from the sums."""
        if self.count < 2:
            return None
        return max(0.0, (self.sum_sq - self.sum * self.sum / self.count) / (self.count - 1))

    def quantile(self, q: float) -> float | None:
        if not self.count:
            return None
        return percentile(self.buckets, q, lo=self.min, hi=self.max)


def aggregate_value(
    aggregation: str, stats: Stats, *, window_minutes: int, denominator: Stats | None = None
) -> float | None:
    """The rule's number for the window, None when there is nothing to judge."""
    if aggregation == "count":
        return float(stats.count)
    if aggregation == "sum":
        return stats.sum
    if aggregation == "rate":
        return stats.sum / max(window_minutes, 1)
    if aggregation == "mean":
        return stats.mean
    if aggregation == "min":
        return stats.min if stats.count else None
    if aggregation == "max":
        return stats.max if stats.count else None
    if aggregation in ("p50", "p95", "p99"):
        return stats.quantile(float(aggregation[1:]))
    if aggregation == "ratio":
        if denominator is None or denominator.sum == 0:
            return None
        return stats.sum / denominator.sum
    raise ValueError(f"unknown aggregation {aggregation!r}")


def _breaches(value: float, operator: str, threshold: float) -> bool:
    if operator == "gt":
        return value > threshold
    if operator == "gte":
        return value >= threshold
    if operator == "lt":
        return value < threshold
    if operator == "lte":
        return value <= threshold
    raise ValueError(f"unknown operator {operator!r}")


def severity(
    value: float, operator: str, *, warning: float | None, error: float | None, critical: float | None
) -> tuple[str, float | None]:
    """The highest breached level and its threshold, or ("ok", None)."""
    for level, threshold in (("critical", critical), ("error", error), ("warning", warning)):
        if threshold is not None and _breaches(value, operator, threshold):
            return level, threshold
    return "ok", None


def tags_match(tags: Mapping[str, str], wanted: Mapping[str, object]) -> bool:
    return all(str(tags.get(k)) == str(v) for k, v in wanted.items())


def group_key(tags: Mapping[str, str], group_by: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(tags.get(k, ""))) for k in group_by)

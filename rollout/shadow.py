"""Shadow comparisons: run an old and a new calculation side by side without exposing the new one.

Two doors, for any calculation that returns a number:

- ``shadow_call(flag=..., user_id=..., current=..., candidate=...)`` on the live path: the flag decides which
  result the user gets (exactly what they would get without the shadow); the other one is computed too, its
  failure is swallowed and counted, and the relative difference is recorded as the metric
  ``shadow.relative_difference`` (tag ``name``) for the monitoring dashboards.
- ``shadow_compare(items, old=..., new=...)`` offline (the runbooks' ``trimp-comparison``): both methods on a
  set of items, summarised by ``summarise``: mean and percentiles of the relative difference, the share within
  5 %, and the items that differ most.

Apps register named comparisons (``register_shadow_comparison``); ``rollout.experiments`` runs them as jobs
and stores each run's summary (``ShadowRun``) for the admin.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from rollout import flags
from rollout.monitoring import increment, record

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class ShadowItem:
    """One item compared: ``relative_difference = (new − old)/old`` (None when old is 0 or a side failed)."""

    key: Any
    old: float | None
    new: float | None
    error: str = ""

    @property
    def difference(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    @property
    def relative_difference(self) -> float | None:
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / self.old


@dataclass(frozen=True)
class ShadowSummary:
    """How far the new method is from the old one over the items compared (relative differences as fractions)."""

    items: int
    compared: int
    failed: int
    mean_difference: float | None
    mean_relative_difference: float | None
    mean_abs_relative_difference: float | None
    relative_percentiles: dict[str, float] = field(default_factory=dict)
    share_within_5pct: float | None = None
    top: tuple[ShadowItem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "compared": self.compared,
            "failed": self.failed,
            "mean_difference": self.mean_difference,
            "mean_relative_difference": self.mean_relative_difference,
            "mean_abs_relative_difference": self.mean_abs_relative_difference,
            "relative_percentiles": self.relative_percentiles,
            "share_within_5pct": self.share_within_5pct,
            "top": [
                {
                    "key": item.key,
                    "old": item.old,
                    "new": item.new,
                    "difference": item.difference,
                    "relative_difference": item.relative_difference,
                }
                for item in self.top
            ],
        }


def summarise(items: Iterable[ShadowItem], *, top: int = 10) -> ShadowSummary:
    """Summary statistics of a list of compared items; ``top`` = the items with the largest |relative difference|."""
    rows = list(items)
    differences = np.array([d for d in (item.difference for item in rows) if d is not None], dtype=np.float64)
    relatives = np.array(
        [r for r in (item.relative_difference for item in rows) if r is not None and math.isfinite(r)],
        dtype=np.float64,
    )
    failed = sum(1 for item in rows if item.error)
    percentiles: dict[str, float] = {}
    if relatives.size:
        values = np.percentile(relatives, PERCENTILES)
        percentiles = {f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}
    ranked = sorted(
        (item for item in rows if item.relative_difference is not None),
        key=lambda item: abs(item.relative_difference or 0.0),
        reverse=True,
    )
    return ShadowSummary(
        items=len(rows),
        compared=int(differences.size),
        failed=failed,
        mean_difference=float(differences.mean()) if differences.size else None,
        mean_relative_difference=float(relatives.mean()) if relatives.size else None,
        mean_abs_relative_difference=float(np.abs(relatives).mean()) if relatives.size else None,
        relative_percentiles=percentiles,
        share_within_5pct=float((np.abs(relatives) <= 0.05).mean()) if relatives.size else None,
        top=tuple(ranked[:top]),
    )


@dataclass(frozen=True)
class ShadowComparison:
    """A comparison an app registers: ``run()`` returns the compared items (old = what users have now)."""

    name: str
    description: str
    run: Callable[[], list[ShadowItem]]


_COMPARISONS: dict[str, ShadowComparison] = {}


def register_shadow_comparison(comparison: ShadowComparison) -> ShadowComparison:
    _COMPARISONS[comparison.name] = comparison
    return comparison


def shadow_comparison(name: str) -> ShadowComparison | None:
    return _COMPARISONS.get(name)


def registered_shadow_comparisons() -> list[ShadowComparison]:
    return [_COMPARISONS[name] for name in sorted(_COMPARISONS)]


def _safe(func: Callable[[K], float | None], key: K) -> tuple[float | None, str]:
    try:
        value = func(key)
    except Exception as exc:  # a method failing on one item is a result of the comparison, not a crash
        return None, f"{type(exc).__name__}: {exc}"[:200]
    return (None if value is None else float(value)), ""


def shadow_compare(
    keys: Iterable[K], *, old: Callable[[K], float | None], new: Callable[[K], float | None], top: int = 10
) -> tuple[list[ShadowItem], ShadowSummary]:
    """Both methods on every key (a failure of either is recorded on the item); the items and their summary."""
    items = []
    for key in keys:
        old_value, old_error = _safe(old, key)
        new_value, new_error = _safe(new, key)
        items.append(ShadowItem(key, old_value, new_value, "; ".join(e for e in (old_error, new_error) if e)))
    return items, summarise(items, top=top)


def shadow_call(
    *,
    name: str,
    flag: str,
    user_id: int | None,
    current: Callable[[], float],
    candidate: Callable[[], float],
) -> float:
    """What the user sees is decided by ``flag`` alone (on → candidate, off → current); the other method runs in
    the shadow. A failing shadow never reaches the user: it is logged and counted (``shadow.failures``)."""
    enabled, _ = flags.evaluate(flag, user_id=user_id)
    shown, shadow = (candidate, current) if enabled else (current, candidate)
    result = shown()
    try:
        other = shadow()
    except Exception:
        logger.warning("shadow %s failed (user %s); the user was not affected", name, user_id, exc_info=True)
        increment("shadow.failures", name=name)
        return result
    old, new = (other, result) if enabled else (result, other)
    if old:
        record("shadow.relative_difference", (new - old) / old, name=name)
    return result

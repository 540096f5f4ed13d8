"""Planning's metrics and the alert rules it registers with rollout's monitoring.

Metrics (``rollout.monitoring.recorder``): ``planning.plans_generated`` (count, tag ``scored``),
``planning.generation_ms`` (generation + scoring of one plan), ``planning.scoring`` (count, tag
``outcome`` ok/error — the guard metric), ``planning.movement_count`` (published movements, sampled after
every library change and every few minutes).
"""

from __future__ import annotations

from planning.selectors import published_movement_count
from rollout.monitoring.recorder import increment, record

PLANS_GENERATED = "planning.plans_generated"
GENERATION_MS = "planning.generation_ms"
SCORING = "planning.scoring"
MOVEMENT_COUNT = "planning.movement_count"
FOUNDATIONAL_MINIMUM = 8  # the runbook: "Movement count drops below 8 → possible data loss"


def record_library_size(*, using: str = "default") -> int:
    """Sample the number of published movements (only for the project's own database)."""
    count = published_movement_count(using=using)
    if using == "default":
        record(MOVEMENT_COUNT, count)
    return count


def record_plan(*, scored: bool, generation_ms: float) -> None:
    increment(PLANS_GENERATED, scored="yes" if scored else "no")
    record(GENERATION_MS, generation_ms)


def record_scoring(*, ok: bool) -> None:
    increment(SCORING, outcome="ok" if ok else "error")

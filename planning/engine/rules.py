"""An independent check of planning.md's plan rules (no Django): ``plan_violations`` lists what a plan breaks.

The generator is built to obey these rules; this module re-derives each one from the plan's JSON alone, so the
property tests (and the job, as a last guard) do not trust the generator's own bookkeeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from planning.engine.generator import MovementSpec, PlanRequest
from planning.engine.vocab import ALWAYS_AVAILABLE, MAIN_PATTERNS


def _sets(cycle: dict[str, Any]) -> int:
    return sum(ex["sets"] for session in cycle["sessions"] for ex in session["exercises"])


def plan_violations(plan: dict[str, Any], request: PlanRequest, library: Sequence[MovementSpec]) -> list[str]:
    """Every rule of planning.md the plan breaks, as sentences (empty when it obeys them all)."""
    problems: list[str] = []
    by_id = {m.movement_id: m for m in library}
    allowed_days = set(request.available_weekdays or range(1, 8))
    cap = min(request.availability_days, len(allowed_days))
    have = None if request.equipment is None else set(request.equipment) | ALWAYS_AVAILABLE
    injuries = set(request.injuries)
    if plan["durationWeeks"] != request.duration_weeks or len(plan["microcycles"]) != request.duration_weeks:
        problems.append("the plan does not have durationWeeks microcycles")
    timeline: list[tuple[int, dict[str, Any]]] = []
    previous_cycle: dict[str, Any] | None = None
    for cycle in plan["microcycles"]:
        week = cycle["week"]
        weekdays = [s["weekday"] for s in cycle["sessions"]]
        if len(weekdays) != len(set(weekdays)):
            problems.append(f"week {week}: two sessions on one weekday")
        if len(weekdays) > cap:
            problems.append(f"week {week}: {len(weekdays)} sessions, more than the {cap} available days")
        for session in cycle["sessions"]:
            if session["weekday"] not in allowed_days:
                problems.append(f"week {week}: a session on unavailable weekday {session['weekday']}")
            if session["intensity"] not in ("low", "moderate", "high"):
                problems.append(f"week {week}: unknown intensity {session['intensity']!r}")
            timeline.append(((week - 1) * 7 + session["weekday"] - 1, session))
            for ex in session["exercises"]:
                movement = by_id.get(ex["movementId"])
                if movement is None or movement.status != "published":
                    problems.append(f"week {week}: {ex['movementId']} is not a published library movement")
                    continue
                if movement.pattern != ex["pattern"]:
                    problems.append(f"week {week}: {ex['movementId']} listed under the wrong pattern")
                if injuries & set(movement.contraindications):
                    problems.append(f"week {week}: {movement.movement_id} is contraindicated by an injury")
                if have is not None and not have.issuperset(movement.equipment):
                    problems.append(f"week {week}: {movement.movement_id} needs equipment the athlete lacks")
                if movement.level == "expert" and request.experience != "advanced":
                    problems.append(f"week {week}: expert movement {movement.movement_id} for a {request.experience}")
                if ("reps" in ex) == ("seconds" in ex):
                    problems.append(f"week {week}: {movement.movement_id} needs exactly one of reps or seconds")
        if cycle["deload"] and previous_cycle is not None and not _sets(cycle) < 0.75 * _sets(previous_cycle):
            problems.append(f"week {week}: a deload without clearly fewer sets than week {week - 1}")
        previous_cycle = cycle
    timeline.sort(key=lambda item: item[0])
    for (day_a, first), (day_b, second) in pairwise(timeline):
        if day_b != day_a + 1:
            continue
        if first["intensity"] == "high" and second["intensity"] == "high":
            problems.append(f"high-intensity sessions on consecutive days {day_a + 1} and {day_b + 1}")
        shared = {ex["pattern"] for ex in first["exercises"]} & {ex["pattern"] for ex in second["exercises"]}
        if shared & MAIN_PATTERNS:
            problems.append(
                f"main pattern(s) {sorted(shared & MAIN_PATTERNS)} on consecutive days {day_a + 1}, {day_b + 1}"
            )
    return problems

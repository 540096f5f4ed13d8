"""The generator, without a database: determinism, every planning.md rule over random requests (hypothesis)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning.engine.generator import GenerationError, MovementSpec, PlanRequest, choose_weekdays, generate_plan
from planning.engine.records import map_free_exercise
from planning.engine.rules import plan_violations
from planning.engine.vocab import EQUIPMENT, EXPERIENCES, GOALS, INJURIES, LEVELS, PATTERNS

REAL_LIBRARY = Path(__file__).resolve().parents[3] / "shared" / "data" / "exercises" / "free-exercise-db.json"


def _synthetic_library() -> list[MovementSpec]:
    """Six movements per pattern with a spread of levels, equipment, contraindications and some non-published."""
    library = []
    for pattern in PATTERNS:
        for i in range(6):
            library.append(
                MovementSpec(
                    movement_id=f"{pattern}-{i}",
                    name=f"{pattern} {i}",
                    pattern=pattern,
                    level=LEVELS[i % 3],
                    equipment=(EQUIPMENT[1 + i % 4],) if i % 2 else (),
                    contraindications=(INJURIES[i % len(INJURIES)],) if i % 3 else (),
                    status="published" if i != 5 else ("draft" if i % 2 else "archived"),
                )
            )
    return library


LIBRARY = _synthetic_library()

requests = st.builds(
    PlanRequest,
    weekly_goal_days=st.integers(1, 7),
    availability_days=st.integers(1, 7),
    goals=st.lists(st.sampled_from(GOALS), min_size=1, max_size=3, unique=True).map(tuple),
    experience=st.sampled_from(EXPERIENCES),
    duration_weeks=st.integers(4, 16),
    available_weekdays=st.none() | st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True).map(tuple),
    equipment=st.none() | st.lists(st.sampled_from(EQUIPMENT), max_size=3, unique=True).map(tuple),
    injuries=st.lists(st.sampled_from(INJURIES), max_size=3, unique=True).map(tuple),
    start_date=st.none() | st.dates(date(2025, 1, 1), date(2030, 12, 31)),
    seed=st.integers(0, 2**31 - 1),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests)
def test_every_plan_obeys_every_rule(request: PlanRequest) -> None:
    try:
        plan = generate_plan(request, LIBRARY)
    except GenerationError:
        return  # nothing fits (e.g. no equipment and every body-weight movement contraindicated): refused, not bent
    assert plan_violations(plan, request, LIBRARY) == []
    weekly = [len(c["sessions"]) for c in plan["microcycles"]]
    assert max(weekly) <= min(request.weekly_goal_days, request.availability_days)
    if request.experience == "beginner":
        main_sets = {ex["sets"] for c in plan["microcycles"] for s in c["sessions"] for ex in s["exercises"]}
        assert max(main_sets) <= 2


@settings(max_examples=50, deadline=None)
@given(request=requests)
def test_same_inputs_and_seed_give_the_same_plan(request: PlanRequest) -> None:
    try:
        first = generate_plan(request, LIBRARY)
    except GenerationError:
        return
    assert generate_plan(request, list(reversed(LIBRARY))) == first


def test_the_seed_changes_the_choice_of_movements() -> None:
    base = PlanRequest(weekly_goal_days=4, availability_days=4, goals=("strength",), experience="advanced")
    plans = {json.dumps(generate_plan(PlanRequest(**{**base.__dict__, "seed": s}), LIBRARY)) for s in range(8)}
    assert len(plans) > 1


def test_rules_checker_catches_broken_plans() -> None:
    request = PlanRequest(weekly_goal_days=4, availability_days=4, goals=("strength",), experience="beginner")
    plan = generate_plan(request, LIBRARY)
    week = plan["microcycles"][0]
    week["sessions"][0]["weekday"], week["sessions"][1]["weekday"] = 1, 2
    week["sessions"][0]["intensity"] = week["sessions"][1]["intensity"] = "high"
    week["sessions"][1]["exercises"].append(dict(week["sessions"][0]["exercises"][0]))
    plan["microcycles"][3]["sessions"] = plan["microcycles"][2]["sessions"]  # the deload as heavy as the week before
    problems = plan_violations(plan, request, LIBRARY)
    assert any("high-intensity" in p for p in problems)
    assert any("main pattern" in p for p in problems)
    assert any("deload" in p for p in problems)


def test_injuries_and_equipment_exclude_movements() -> None:
    request = PlanRequest(
        weekly_goal_days=3,
        availability_days=3,
        goals=("strength",),
        experience="advanced",
        equipment=(),
        injuries=("knee", "shoulder"),
    )
    plan = generate_plan(request, LIBRARY)
    used = {ex["movementId"] for c in plan["microcycles"] for s in c["sessions"] for ex in s["exercises"]}
    by_id = {m.movement_id: m for m in LIBRARY}
    assert used and all(not by_id[m].equipment for m in used)
    assert all(not {"knee", "shoulder"} & set(by_id[m].contraindications) for m in used)


def test_deloads_and_phases_of_a_twelve_week_block() -> None:
    request = PlanRequest(weekly_goal_days=4, availability_days=5, goals=("hypertrophy",), experience="intermediate")
    plan = generate_plan(request, LIBRARY)
    assert [c["week"] for c in plan["microcycles"] if c["deload"]] == [4, 8, 12]
    assert [p["name"] for p in plan["phases"]] == ["accumulation", "intensification", "realization"]
    assert all(s["intensity"] == "low" for s in plan["microcycles"][3]["sessions"])


def test_weekdays_are_spread() -> None:
    assert choose_weekdays(range(1, 8), 3) in {(1, 3, 5), (1, 3, 6), (1, 4, 6), (2, 4, 6)}
    assert choose_weekdays((1, 2, 3), 2) == (1, 3)
    assert choose_weekdays((6, 7, 1), 3) == (1, 6, 7)


def test_start_date_dates_sessions_from_the_next_monday() -> None:
    request = PlanRequest(
        weekly_goal_days=2,
        availability_days=2,
        goals=("endurance",),
        experience="beginner",
        start_date=date(2026, 12, 3),
    )
    plan = generate_plan(request, LIBRARY)
    assert plan["startDate"] == "2026-12-07"
    first = plan["microcycles"][0]["sessions"][0]
    assert date.fromisoformat(first["date"]).isoweekday() == first["weekday"]


def test_an_empty_library_is_refused() -> None:
    request = PlanRequest(weekly_goal_days=2, availability_days=2, goals=("strength",), experience="beginner")
    with pytest.raises(GenerationError):
        generate_plan(request, [])
    with pytest.raises(GenerationError, match="weeklyGoalDays"):
        bad = PlanRequest(weekly_goal_days=0, availability_days=2, goals=("strength",), experience="beginner")
        generate_plan(bad, LIBRARY)


@pytest.mark.skipif(not REAL_LIBRARY.exists(), reason="shared exercise library not present")
@settings(max_examples=60, deadline=None)
@given(request=requests)
def test_plans_from_the_real_library_obey_every_rule(request: PlanRequest) -> None:
    try:
        plan = generate_plan(request, _real_library())
    except GenerationError:
        return
    assert plan_violations(plan, request, _real_library()) == []


_REAL: list[MovementSpec] = []


def _real_library() -> list[MovementSpec]:
    if not _REAL:
        for raw in json.loads(REAL_LIBRARY.read_text()):
            record = map_free_exercise(raw)
            if record is not None:
                _REAL.append(
                    MovementSpec(
                        movement_id=record["movement_id"],
                        name=record["name"],
                        pattern=record["pattern"],
                        level=record["level"],
                        equipment=tuple(record["equipment"]),
                        contraindications=tuple(record["contraindications"]),
                    )
                )
    return _REAL

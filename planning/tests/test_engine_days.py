"""Plan days (pure): day 1 is the Monday of week 1; the days with a session are the generator's session days."""

from __future__ import annotations

from planning.engine.days import plan_day, session_days, session_on_day
from planning.engine.generator import MovementSpec, PlanRequest, generate_plan

LIBRARY = [
    MovementSpec(movement_id=f"m-{pattern}", name=pattern, pattern=pattern, level="beginner", equipment=())
    for pattern in ("squat", "hinge", "lunge", "horizontal_push", "horizontal_pull", "vertical_push", "core")
]


def test_plan_day_counts_from_the_monday_of_week_one() -> None:
    assert plan_day(1, 1) == 1
    assert plan_day(1, 7) == 7
    assert plan_day(2, 3) == 10  # week 2's Wednesday
    assert plan_day(12, 7) == 84


def test_session_days_are_the_weekdays_of_each_microcycle() -> None:
    request = PlanRequest(
        weekly_goal_days=3, availability_days=3, goals=("strength",), experience="intermediate", duration_weeks=4
    )
    plan = generate_plan(request, LIBRARY)
    days = session_days(plan)
    expected = sorted(
        (cycle["week"] - 1) * 7 + session["weekday"] for cycle in plan["microcycles"] for session in cycle["sessions"]
    )
    assert days == expected and len(days) == len(set(days)) and days[0] >= 1 and days[-1] <= 28
    first_cycle_session = plan["microcycles"][0]["sessions"][0]
    assert session_on_day(plan, days[0]) is first_cycle_session
    rest_day = next(day for day in range(1, 29) if day not in days)
    assert session_on_day(plan, rest_day) is None
    assert session_on_day(plan, 29) is None and session_on_day(plan, 0) is None


def test_a_plan_without_sessions_has_no_session_days() -> None:
    assert session_days({}) == [] and session_days({"microcycles": []}) == []
    assert session_on_day({"microcycles": [{"week": 1, "sessions": []}]}, 1) is None

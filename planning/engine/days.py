"""Days of a generated plan (no Django): how a training session names the plan session it carries out.

A plan's day is counted from 1, the Monday of week 1: ``day = (week − 1) × 7 + weekday`` (weekday 1 = Monday …
7 = Sunday), so week 2's Wednesday is day 10. A plan has at most one session a day (its sessions sit on distinct
weekdays of each microcycle), so a day names at most one session; the days without one are rest days. The plan
need not have a ``startDate``: the day number works without calendar dates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def plan_day(week: int, weekday: int) -> int:
    """The plan day (1-based) of ``weekday`` (1 = Monday … 7) in ``week`` (1-based)."""
    return (week - 1) * 7 + weekday


def _sessions(plan: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for cycle in plan.get("microcycles") or ():
        for session in cycle.get("sessions") or ():
            yield plan_day(cycle["week"], session["weekday"]), session


def session_days(plan: dict[str, Any]) -> list[int]:
    """The days of ``plan`` that have a session, ascending (empty for a plan without sessions)."""
    return sorted(day for day, _ in _sessions(plan))


def session_on_day(plan: dict[str, Any], day: int) -> dict[str, Any] | None:
    """The plan's session on ``day``, or None (a rest day, or a day outside the plan)."""
    for session_day, session in _sessions(plan):
        if session_day == day:
            return session
    return None

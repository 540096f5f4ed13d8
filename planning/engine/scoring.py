"""The ``fixed-weight-v1`` plan score, exactly as planning.md (and the original contract) defines it. No Django.

``score_plan(plan, weekly_goal_days=…, availability_days=…, evaluated_at=…)`` returns the contract's payload:
``version``, ``total`` in [0, 1], ``weights``, ``factors.{safety, compliance, performance}`` with ``weight``,
``score``, ``contribution = weight × score``, ``reasons`` and ``metrics``, and ``metadata``. Scores,
contributions and the total are rounded to 4 decimals; the total is the sum of the rounded contributions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

VERSION = "fixed-weight-v1"
WEIGHTS: dict[str, float] = {"safety": 0.6, "compliance": 0.3, "performance": 0.1}


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def _factor(name: str, score: float, reasons: list[str], metrics: dict[str, Any]) -> dict[str, Any]:
    score = round(_clamp(score), 4)
    weight = WEIGHTS[name]
    return {
        "weight": weight,
        "score": score,
        "contribution": round(weight * score, 4),
        "reasons": reasons,
        "metrics": metrics,
    }


def _safety(cycles: list[dict[str, Any]], duration_weeks: int) -> dict[str, Any]:
    sessions = [s for c in cycles for s in c["sessions"]]
    total = len(sessions)
    high = sum(1 for s in sessions if s["intensity"] == "high")
    ratio = high / total if total else 0.0
    rest = sum(7 - len(c["sessions"]) for c in cycles) / len(cycles) if cycles else 7.0
    deloads = sum(1 for c in cycles if c.get("deload"))
    score = 1.0
    reasons: list[str] = []
    if ratio > 0.4:
        score -= 2 * (ratio - 0.4)
        reasons.append(f"{ratio:.0%} of sessions are high intensity, above 40 %.")
    else:
        reasons.append(f"{ratio:.0%} of sessions are high intensity (at most 40 %).")
    if rest < 2:
        score -= 0.15 * (2 - rest)
        reasons.append(f"{rest:.2f} rest days a week on average, fewer than 2.")
    else:
        reasons.append(f"{rest:.2f} rest days a week on average.")
    if duration_weeks >= 4 and deloads == 0:
        score -= 0.1
        reasons.append(f"A block of {duration_weeks} weeks has no deload week.")
    else:
        reasons.append(f"{deloads} deload week(s).")
    metrics = {
        "totalSessions": total,
        "highIntensityRatio": round(ratio, 4),
        "averageRestDays": round(rest, 4),
        "deloadWeeks": deloads,
    }
    return _factor("safety", score, reasons, metrics)


def _compliance(cycles: list[dict[str, Any]], goal_days: int, availability_days: int) -> dict[str, Any]:
    planned = sum(len(c["sessions"]) for c in cycles) / len(cycles) if cycles else 0.0
    deviation = abs(planned - goal_days)
    if planned == 0:
        score = 0.0
        reasons = ["The plan has no sessions."]
    else:
        score = 1 - 0.75 * deviation / goal_days
        reasons = [f"{planned:.2f} sessions a week planned against a goal of {goal_days} (deviation {deviation:.2f})."]
        if availability_days < goal_days:
            reasons.append(f"Only {availability_days} days are available for a goal of {goal_days}.")
    metrics = {
        "plannedWeeklySessions": round(planned, 4),
        "weeklyGoalDays": goal_days,
        "availabilityDays": availability_days,
        "deviation": round(deviation, 4),
    }
    return _factor("compliance", score, reasons, metrics)


def _performance(plan: dict[str, Any], cycles: list[dict[str, Any]]) -> dict[str, Any]:
    phases = len(plan.get("phases") or [])
    variety = len({s["intensity"] for c in cycles for s in c["sessions"]})
    weeks = int(plan.get("durationWeeks") or len(cycles))
    structured = any(c["sessions"] for c in cycles)
    score = 0.25 * ((phases >= 2) + (variety >= 3) + (weeks >= 12) + structured)
    reasons = [
        f"{phases} progression phase(s) ({'at least' if phases >= 2 else 'fewer than'} 2).",
        f"{variety} intensity level(s) ({'at least' if variety >= 3 else 'fewer than'} 3).",
        f"{weeks} weeks ({'at least' if weeks >= 12 else 'fewer than'} 12).",
        "Microcycles have sessions." if structured else "No microcycle has a session.",
    ]
    metrics = {"progressionPhases": phases, "intensityVariety": variety, "durationWeeks": weeks}
    return _factor("performance", score, reasons, metrics)


def score_plan(
    plan: dict[str, Any], *, weekly_goal_days: int, availability_days: int, evaluated_at: datetime
) -> dict[str, Any]:
    """The ``fixed-weight-v1`` payload of ``plan`` for the request's goal and availability."""
    if weekly_goal_days < 1:
        raise ValueError("weekly_goal_days must be at least 1")
    cycles = list(plan.get("microcycles") or [])
    factors = {
        "safety": _safety(cycles, int(plan.get("durationWeeks") or len(cycles))),
        "compliance": _compliance(cycles, weekly_goal_days, availability_days),
        "performance": _performance(plan, cycles),
    }
    total = round(sum(f["contribution"] for f in factors.values()), 4)
    return {
        "version": VERSION,
        "total": total,
        "weights": dict(WEIGHTS),
        "factors": factors,
        "metadata": {
            "evaluatedAt": evaluated_at.isoformat(),
            "weeklySessionsPlanned": factors["compliance"]["metrics"]["plannedWeeklySessions"],
            "weeklyGoalDays": weekly_goal_days,
            "requestContext": {"availabilityDays": availability_days, "weeklyGoalDays": weekly_goal_days},
        },
    }

"""fixed-weight-v1 without a database: the formulas, the contract example, and the arithmetic of every score."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings

from planning.engine.contract import payload_failures, sample_payload
from planning.engine.generator import GenerationError, generate_plan
from planning.engine.scoring import score_plan
from planning.tests.test_engine_generator import LIBRARY, requests

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _plan(sessions_per_week: list[int], *, high_every: int = 0, deload: bool = True, phases: int = 3) -> dict[str, Any]:
    cycles = []
    counter = 0
    for week, count in enumerate(sessions_per_week, start=1):
        sessions = []
        for day in range(count):
            counter += 1
            intensity = "high" if high_every and counter % high_every == 0 else "moderate"
            sessions.append({"weekday": day + 1, "intensity": intensity, "exercises": []})
        cycles.append({"week": week, "deload": deload and week % 4 == 0, "sessions": sessions})
    return {
        "durationWeeks": len(sessions_per_week),
        "phases": [{"name": f"p{i}", "weeks": []} for i in range(phases)],
        "microcycles": cycles,
    }


def test_contract_example_compliance_2_5_against_4() -> None:
    plan = _plan([2, 3] * 6)
    score = score_plan(plan, weekly_goal_days=4, availability_days=3, evaluated_at=NOW)
    assert score["factors"]["compliance"]["score"] == 0.7188
    assert score["factors"]["compliance"]["metrics"]["plannedWeeklySessions"] == 2.5
    assert score["factors"]["compliance"]["metrics"]["deviation"] == 1.5


def test_safety_penalties() -> None:
    plan = _plan([6] * 12, high_every=2, deload=False)  # 50 % high, 1 rest day, no deload
    safety = score_plan(plan, weekly_goal_days=6, availability_days=6, evaluated_at=NOW)["factors"]["safety"]
    expected = {"totalSessions": 72, "highIntensityRatio": 0.5, "averageRestDays": 1.0, "deloadWeeks": 0}
    assert safety["metrics"] == expected
    assert safety["score"] == pytest.approx(1 - 2 * 0.1 - 0.15 * 1 - 0.1)


def test_performance_quarters_and_empty_plan() -> None:
    full = score_plan(_plan([3] * 12, high_every=3), weekly_goal_days=3, availability_days=3, evaluated_at=NOW)
    assert full["factors"]["performance"]["score"] == 0.75  # phases, weeks, sessions; only 2 intensity levels
    empty = score_plan(_plan([0] * 4, phases=1), weekly_goal_days=3, availability_days=3, evaluated_at=NOW)
    assert empty["factors"]["compliance"]["score"] == 0.0
    assert empty["factors"]["performance"]["score"] == 0.0
    assert payload_failures(empty) == []


@settings(max_examples=100, deadline=None)
@given(request=requests)
def test_every_generated_score_validates_and_adds_up(request: Any) -> None:
    try:
        plan = generate_plan(request, LIBRARY)
    except GenerationError:
        return
    score = score_plan(
        plan, weekly_goal_days=request.weekly_goal_days, availability_days=request.availability_days, evaluated_at=NOW
    )
    assert payload_failures(score) == []
    factors = score["factors"]
    assert abs(score["total"] - sum(f["contribution"] for f in factors.values())) <= 1e-3
    for name, weight in (("safety", 0.6), ("compliance", 0.3), ("performance", 0.1)):
        assert abs(factors[name]["contribution"] - weight * factors[name]["score"]) <= 1e-3
    assert 0 <= score["total"] <= 1


def test_contract_sample_passes_and_broken_payloads_fail() -> None:
    assert payload_failures(sample_payload()) == []
    broken = copy.deepcopy(sample_payload())
    broken["total"] = 0.5
    assert ("$.total", "0.5 is not the sum of contributions 0.9156") in payload_failures(broken)
    broken = copy.deepcopy(sample_payload())
    broken["factors"]["safety"]["contribution"] = 0.1
    assert any(path == "$.factors.safety.contribution" for path, _ in payload_failures(broken))
    broken = copy.deepcopy(sample_payload())
    broken["version"] = "fixed-weight-v2"
    del broken["factors"]["compliance"]["metrics"]["deviation"]
    paths = [path for path, _ in payload_failures(broken)]
    assert "$.version" in paths and "$.factors.compliance.metrics" in paths
    assert payload_failures([1, 2]) == [("$", "[1, 2] is not of type 'object'")]

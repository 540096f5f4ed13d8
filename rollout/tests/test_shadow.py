"""The shadow pattern: the flag alone decides what users see; the summary matches a direct computation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rollout.flags import invalidate_local
from rollout.monitoring import flush
from rollout.monitoring.models import MetricMinute
from rollout.services import flag_create, flag_update
from rollout.shadow import ShadowItem, shadow_call, shadow_compare, summarise


def test_summary_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(5)
    old = rng.uniform(20, 200, size=300)
    new = old * rng.normal(1.02, 0.06, size=300)
    _items, summary = shadow_compare(range(300), old=lambda i: old[i], new=lambda i: new[i], top=5)
    relative = (new - old) / old
    assert summary.compared == 300 and summary.failed == 0
    assert summary.mean_difference == pytest.approx((new - old).mean())
    assert summary.mean_relative_difference == pytest.approx(relative.mean())
    assert summary.mean_abs_relative_difference == pytest.approx(np.abs(relative).mean())
    for p in (5, 25, 50, 75, 95):
        assert summary.relative_percentiles[f"p{p}"] == pytest.approx(np.percentile(relative, p))
    assert summary.share_within_5pct == pytest.approx((np.abs(relative) <= 0.05).mean())
    assert [item.key for item in summary.top] == list(np.argsort(-np.abs(relative))[:5])


def test_a_failing_method_is_recorded_on_its_item() -> None:
    def new(i: int) -> float:
        if i == 2:
            raise ValueError("no stream")
        return i * 2.0

    items, summary = shadow_compare([1, 2, 3], old=lambda i: float(i), new=new)
    assert summary.failed == 1 and summary.compared == 2
    assert items[1].error == "ValueError: no stream" and items[1].new is None
    assert summarise([ShadowItem("x", 0.0, 1.0)]).mean_relative_difference is None  # old = 0: no ratio


@pytest.mark.django_db
def test_shadow_call_returns_what_the_flag_decides(make_user: Any) -> None:
    flag_create(name="shadow_trimp", changes={}, actor=None, source="command", reason="test")
    calls: list[str] = []

    def current() -> float:
        calls.append("current")
        return 100.0

    def candidate() -> float:
        calls.append("candidate")
        return 110.0

    user = make_user()
    assert (
        shadow_call(name="trimp", flag="shadow_trimp", user_id=user.pk, current=current, candidate=candidate) == 100.0
    )
    assert calls == ["current", "candidate"]  # the candidate ran, in the shadow
    flag_update(name="shadow_trimp", changes={"everyone": True}, actor=None, source="command", reason="on")
    invalidate_local()
    assert (
        shadow_call(name="trimp", flag="shadow_trimp", user_id=user.pk, current=current, candidate=candidate) == 110.0
    )

    def broken() -> float:
        raise RuntimeError("candidate crashed")

    flag_update(name="shadow_trimp", changes={"everyone": None}, actor=None, source="command", reason="off")
    invalidate_local()
    assert shadow_call(name="trimp", flag="shadow_trimp", user_id=user.pk, current=current, candidate=broken) == 100.0
    flush()
    metrics = set(MetricMinute.objects.values_list("metric", flat=True))
    assert {"shadow.relative_difference", "shadow.failures"} <= metrics

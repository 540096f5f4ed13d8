"""Fixtures for the training app's database tests: profiles, activities imported through the real service,
the rollout flag switched through rollout's services."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pytest

FLAG = "enhanced_trimp_calculation"
DAY0 = date(2024, 3, 1)


def stream_json(times: Any, hrs: Any) -> dict[str, Any]:
    """Strava-shaped streams (``null`` for missing values)."""
    return {
        "time": {"data": [float(t) for t in times]},
        "heartrate": {"data": [None if h != h else float(h) for h in hrs]},
    }


def steady_stream(minutes: float = 60, hr: float = 140, *, step: float = 1.0, seed: int = 0) -> tuple[Any, Any]:
    """A noisy steady effort: ``minutes`` at about ``hr`` bpm sampled every ``step`` s (integer bpm)."""
    rng = np.random.default_rng(seed)
    times = np.arange(0, minutes * 60 + step / 2, step)
    hrs = np.round(hr + rng.normal(0, 4, times.size))
    return times, hrs


@pytest.fixture
def flag_for() -> Callable[..., None]:
    """Switch the rollout flag for a cohort (``admin`` | ``beta`` | ``regular``) through rollout's service."""
    from rollout import flags
    from rollout.services import flag_toggle

    def switch(user_type: str, enabled: bool = True) -> None:
        flag_toggle(name=FLAG, enabled=enabled, user_type=user_type, actor=None, source="api", reason="test")
        flags.invalidate_local()

    return switch


@pytest.fixture
def profile_for(db: Any) -> Callable[..., Any]:
    """Create a dated profile directly (no re-scoring job): for arranging a test's starting state."""
    from training.models import HeartRateProfile

    def create(athlete: Any, effective_from: date = date(2020, 1, 1), **values: Any) -> Any:
        fields = {"resting_hr": 50.0, "max_hr": 190.0, "sex": "male", **values}
        return HeartRateProfile.objects.create(athlete=athlete, effective_from=effective_from, **fields)

    return create


@pytest.fixture
def import_stream(db: Any) -> Callable[..., Any]:
    """Import a JSON stream through the real import service and return the activity."""
    from training.services import activity_import

    counter = {"n": 0}

    def run(
        athlete: Any,
        day: date = DAY0,
        *,
        stream: tuple[Any, Any] | None = None,
        at: time | None = None,
        average_hr: float | None = None,
        external_id: str | None = None,
    ) -> Any:
        counter["n"] += 1
        # Distinct two-hour slots by default (odd UTC hours), so a test's activities on one day are separate
        # sessions, not duplicates of each other (the import refuses those with 409).
        at = at if at is not None else time(1 + (counter["n"] - 1) % 11 * 2, 0)
        times, hrs = stream if stream is not None else steady_stream(seed=counter["n"])
        body = json.dumps(stream_json(times, hrs)).encode()
        result = activity_import(
            actor=athlete,
            athlete=athlete,
            data=body,
            filename="streams.json",
            start=datetime.combine(day, at, tzinfo=UTC),
            average_hr=average_hr,
            external_id=external_id or f"test:{counter['n']}",
        )
        return result.activity

    return run


@pytest.fixture
def history(import_stream: Callable[..., Any]) -> Callable[..., list[Any]]:
    """``days`` daily activities from ``start`` (one-hour streams of varying intensity)."""

    def build(athlete: Any, days: int, start: date = DAY0) -> list[Any]:
        return [
            import_stream(
                athlete, start + timedelta(days=n), stream=steady_stream(45 + n % 4 * 10, 125 + n % 5 * 8, seed=n)
            )
            for n in range(days)
        ]

    return build

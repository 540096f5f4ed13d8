"""Physical bounds of uploads, start-aware de-duplication, load maths that refuse non-finite values, and a
bounded training-load window."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from training.engine.pmc import compute_pmc
from training.load_window import MAX_LOAD_DAYS
from training.models import Activity

pytestmark = pytest.mark.django_db

TIMES = list(range(0, 1800, 5))
HRS = [140] * len(TIMES)


def stream(times: list[Any] = TIMES, hrs: list[Any] = HRS, start: str = "2026-11-01T08:00:00Z") -> dict[str, Any]:
    return {"streams": {"time": {"data": times}, "heartrate": {"data": hrs}}, "start": start}


@pytest.fixture
def athlete_client(make_user: Any, client_for: Any) -> Any:
    return client_for(make_user("athlete"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (stream(times=[0, 1, 1e300]), "time[2]"),
        (stream(times=[0, 1, 1.7e308]), "time[2]"),
        (stream(times=[-5, 0, 1]), "time[0]"),
        (stream(times=[0, 1, 8 * 24 * 3600]), "time[2]"),
        (stream(hrs=[140, 1e300, *HRS[2:]]), "heartrate[1]"),
        (stream(hrs=[-1, *HRS[1:]]), "heartrate[0]"),
        (stream(start="0001-01-01T00:00:00Z"), "start"),
        (stream(start="9999-12-31T00:00:00Z"), "start"),
        (stream(start="1979-12-31T23:59:59Z"), "start"),
    ],
)
def test_physically_absurd_streams_are_refused_with_trimp_001_naming_the_field(
    athlete_client: Any, body: dict[str, Any], field: str
) -> None:
    if len(body["streams"]["time"]["data"]) != len(body["streams"]["heartrate"]["data"]):
        body["streams"]["heartrate"]["data"] = [140] * len(body["streams"]["time"]["data"])
    response = athlete_client.post("/api/v1/activities", body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "TRIMP_001"
    assert error["details"] == {"reason": "out_of_range", "field": field}
    assert error["message"].startswith(f"{field}: ")
    assert Activity.objects.count() == 0


def test_a_start_up_to_a_day_ahead_is_accepted(athlete_client: Any) -> None:
    tomorrow = (timezone.now() + timedelta(hours=20)).isoformat()
    assert athlete_client.post("/api/v1/activities", stream(start=tomorrow), format="json").status_code == 201


def test_the_same_samples_at_another_start_are_another_activity(athlete_client: Any) -> None:
    first = athlete_client.post("/api/v1/activities", stream(), format="json")
    again = athlete_client.post("/api/v1/activities", stream(), format="json")
    later = athlete_client.post("/api/v1/activities", stream(start="2026-11-02T08:00:00Z"), format="json")
    assert (first.status_code, again.status_code, later.status_code) == (201, 200, 201)
    assert again.json()["id"] == first.json()["id"]
    assert later.json()["id"] != first.json()["id"]
    assert later.json()["start"].startswith("2026-11-02")


@pytest.mark.parametrize("load", [np.inf, np.nan, 1e308])
def test_the_load_maths_refuse_non_finite_values(load: float) -> None:
    with pytest.raises(ValueError):
        compute_pmc([10.0, load, 1e308, 1e308])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=9999-12-01&to=9999-12-31", "to"),
        ("from=0001-01-01&to=0001-01-31", "to"),
        ("from=1900-01-01&to=2000-01-01", "from"),
        (f"from={date.today() - timedelta(days=MAX_LOAD_DAYS + 5)}&to={date.today()}", "from"),
        ("from=2026-02-01&to=2026-01-01", "from"),
    ],
)
def test_training_load_windows_outside_sane_bounds_are_a_400(athlete_client: Any, query: str, field: str) -> None:
    athlete_id = athlete_client.user.pk
    response = athlete_client.get(f"/api/v1/athletes/{athlete_id}/training-load?{query}")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]


def test_a_training_load_window_within_bounds_is_served(athlete_client: Any) -> None:
    assert athlete_client.post("/api/v1/activities", stream(), format="json").status_code == 201
    athlete_id = athlete_client.user.pk
    response = athlete_client.get(f"/api/v1/athletes/{athlete_id}/training-load?from=2026-10-01&to=2026-11-30")
    assert response.status_code == 200
    days = response.json()["days"]
    assert len(days) == 61

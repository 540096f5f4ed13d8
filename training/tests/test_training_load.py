"""GET /api/v1/athletes/<id>/training-load against a plain per-day loop of the definitions."""

from __future__ import annotations

import math
from datetime import date, time, timedelta
from typing import Any

import pytest

from training.loads import daily_loads_by_day
from training.models import Activity, AthleteLoadSettings
from training.selectors import DISPLAY_DECIMALS, training_load_series

pytestmark = pytest.mark.django_db

D0 = date(2024, 3, 4)


def reference(
    loads: list[float],
    *,
    ctl0: float = 0.0,
    atl0: float = 0.0,
    ctl_days: float = 42,
    atl_days: float = 7,
    prefix_zeros: bool = True,
) -> list[dict[str, float | None]]:
    """The definitions day by day, written as plainly as possible (loads from the history's first day)."""
    kc, ka = 1 - math.exp(-1 / ctl_days), 1 - math.exp(-1 / atl_days)
    ctl, atl = ctl0, atl0
    padded = ([0.0] * 6 if prefix_zeros else [math.nan] * 6) + loads
    rows: list[dict[str, float | None]] = []
    for n, load in enumerate(loads):
        tsb = ctl - atl
        ctl += (load - ctl) * kc
        atl += (load - atl) * ka
        week = padded[n : n + 7]
        monotony = strain = None
        if not any(math.isnan(x) for x in week):
            mean = sum(week) / 7
            sd = math.sqrt(sum((x - mean) ** 2 for x in week) / 7)  # population sd
            if sd > 0:
                monotony = mean / sd
                strain = sum(week) * monotony
        rows.append(
            {
                "load": load,
                "ctl": ctl,
                "atl": atl,
                "tsb": tsb,
                "acwr": atl / ctl if ctl >= 1e-9 else None,
                "monotony": monotony,
                "strain": strain,
            }
        )
    return rows


def assert_rows(got: list[dict[str, Any]], want: list[dict[str, float | None]], *, exact: bool = False) -> None:
    """``exact``: the full-precision series (the data); else the API's values, rounded for display."""
    assert len(got) == len(want)
    decimals = dict(zip(("load", "ctl", "atl", "tsb", "acwr", "monotony", "strain"), DISPLAY_DECIMALS, strict=True))
    for day, (g, w) in enumerate(zip(got, want, strict=True)):
        for key, value in w.items():
            if value is None:
                assert g[key] is None, (day, key, g[key])
            elif exact:
                assert g[key] == pytest.approx(value, rel=1e-9, abs=1e-9), (day, key)
            else:
                assert g[key] == round(g[key], decimals[key]), (day, key, g[key])  # no 3.7e-69 on the wire
                assert g[key] == pytest.approx(value, abs=0.5 * 10 ** -decimals[key] + 1e-9), (day, key)


@pytest.fixture
def athlete(make_user: Any, profile_for: Any) -> Any:
    user = make_user("athlete")
    profile_for(user)
    return user


def test_series_follows_the_definitions_day_by_day(athlete: Any, client_for: Any, import_stream: Any) -> None:
    import_stream(athlete, D0)
    import_stream(athlete, D0, at=time(18, 0))  # two on one day: summed
    import_stream(athlete, D0 + timedelta(days=1))
    import_stream(athlete, D0 + timedelta(days=4))
    by_day: dict[date, float] = {}
    for activity in Activity.objects.filter(athlete=athlete):
        by_day[activity.local_date] = by_day.get(activity.local_date, 0.0) + activity.trimp
    loads = [by_day.get(D0 + timedelta(days=n), 0.0) for n in range(20)]
    response = client_for(athlete).get(
        f"/api/v1/athletes/{athlete.pk}/training-load?from={D0 - timedelta(days=3)}&to={D0 + timedelta(days=19)}"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["history_start"] == D0.isoformat() and (body["ctl_days"], body["atl_days"]) == (42.0, 7.0)
    days = body["days"]
    assert [d["date"] for d in days][:4] == [str(D0 - timedelta(days=3 - n)) for n in range(4)]
    for before in days[:3]:  # before the first activity: load 0 and the seeds (0)
        assert (before["load"], before["ctl"], before["atl"], before["tsb"]) == (0.0, 0.0, 0.0, 0.0)
        assert before["acwr"] is None and before["monotony"] is None
    assert_rows(days[3:], reference(loads))
    assert days[3]["load"] == pytest.approx(by_day[D0], abs=0.005)
    # the series behind the API keeps full precision: it is what every later day is computed from
    series = training_load_series(athlete_id=athlete.pk, date_from=D0, date_to=D0 + timedelta(days=19))
    assert_rows(series.rows(), reference(loads), exact=True)


def test_seeds_and_time_constants(athlete: Any, client_for: Any, import_stream: Any, staff_client: Any) -> None:
    import_stream(athlete, D0 - timedelta(days=30))  # before the seed date: summarised by the seed
    import_stream(athlete, D0 + timedelta(days=2))
    AthleteLoadSettings.objects.create(athlete=athlete, ctl_seed=40.0, atl_seed=55.0, seed_date=D0 - timedelta(days=1))
    staff_client.put("/api/admin/trimp-settings", {"ctl_days": 28, "atl_days": 5}, format="json")
    load = daily_loads_by_day(athlete.pk)[(athlete.pk, D0 + timedelta(days=2))][0]
    loads = [0.0, 0.0, load, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    body = (
        client_for(athlete)
        .get(f"/api/v1/athletes/{athlete.pk}/training-load?from={D0}&to={D0 + timedelta(days=9)}")
        .json()
    )
    assert body["history_start"] == D0.isoformat() and (body["ctl_seed"], body["atl_seed"]) == (40.0, 55.0)
    assert_rows(body["days"], reference(loads, ctl0=40, atl0=55, ctl_days=28, atl_days=5, prefix_zeros=False))
    assert body["days"][0]["tsb"] == pytest.approx(-15.0)  # form entering the first day: the seeds


def test_local_calendar_day_of_the_athlete(
    make_user: Any, profile_for: Any, client_for: Any, import_stream: Any
) -> None:
    athlete = make_user("athlete", timezone="America/New_York")
    profile_for(athlete)
    activity = import_stream(athlete, D0, at=time(2, 30))  # 21:30 the evening before in New York
    assert activity.local_date == D0 - timedelta(days=1)
    days = (
        client_for(athlete)
        .get(f"/api/v1/athletes/{athlete.pk}/training-load?from={D0 - timedelta(days=1)}&to={D0}")
        .json()["days"]
    )
    assert days[0]["load"] == round(activity.trimp, 2) and days[1]["load"] == 0.0


def test_defaults_and_validation(athlete: Any, client_for: Any) -> None:
    client = client_for(athlete)
    url = f"/api/v1/athletes/{athlete.pk}/training-load"
    body = client.get(url).json()
    assert len(body["days"]) == 90 and body["history_start"] is None
    assert all(day["ctl"] == 0.0 and day["load"] == 0.0 for day in body["days"])
    for query in ("?from=2024-03-10&to=2024-03-01", "?from=1900-01-01&to=2024-01-01", "?from=yesterday"):
        response = client.get(url + query)
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error", query


def test_ten_years_cost_the_same_queries_as_one_week(athlete: Any, client_for: Any, import_stream: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    import_stream(athlete, D0)
    client = client_for(athlete)
    url = f"/api/v1/athletes/{athlete.pk}/training-load"
    with CaptureQueriesContext(connection) as week:
        assert client.get(f"{url}?from={D0}&to={D0 + timedelta(days=6)}").status_code == 200
    import_stream(athlete, D0 - timedelta(days=3000))
    with CaptureQueriesContext(connection) as decade:
        body = client.get(f"{url}?from={D0 - timedelta(days=3650)}&to={D0}").json()
    assert len(body["days"]) == 3651 and body["history_start"] == str(D0 - timedelta(days=3000))
    assert len(decade) == len(week) <= 4

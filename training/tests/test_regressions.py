"""Regression tests for defects found in review, training's share (each failed before its fix)."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import CoachAthlete
from training.models import Activity
from training.tests.conftest import stream_json

pytestmark = pytest.mark.django_db


def test_coach_upload_with_athlete_id_lands_on_the_athlete(client_for: Any, make_user: Any) -> None:
    coach, athlete = make_user("coach"), make_user()
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    body = {
        "streams": stream_json(range(0, 600, 5), [130] * 120),
        "start": "2026-05-01T06:00:00Z",
        "athlete_id": athlete.pk,
    }
    response = client_for(coach).post("/api/v1/activities", body, format="json")
    assert response.status_code == 201, response.json()
    assert Activity.objects.get().athlete_id == athlete.pk
    typo = client_for(coach).post("/api/v1/activities", {**body, "athelete": 1}, format="json")
    assert typo.status_code == 400 and "athelete" in typo.json()["error"]["details"]


def test_odd_query_values_are_400_not_500(staff_client: Any) -> None:
    response = staff_client.get("/api/admin/trimp-performance-metrics?hours=%C2%B2")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"


def test_odd_bodies_are_400_not_500(staff_client: Any) -> None:
    seed = staff_client.post("/api/admin/trimp-comparison", {"sample": 1, "seed": -1}, format="json")
    assert seed.status_code == 400

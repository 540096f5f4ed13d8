"""Sessions, check-ins, baselines and the model endpoint through the HTTP API; validation and ownership."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import CoachAthlete, Job
from planning.readiness.models import ModelOutput, TrainingSession
from planning.readiness.refit import model_output_apply_session
from planning.readiness.tests.conftest import run_queued_jobs

pytestmark = pytest.mark.django_db

CHECKIN = {"sleep_hours": 7.5, "energy_level": 4, "stress_level": 2}


def test_checkin_then_completed_session_updates_the_model(make_user: Any, client_for: Any) -> None:
    athlete = make_user("athlete")
    client = client_for(athlete)
    checkin = client.post("/api/v1/checkins", {**CHECKIN, "soreness": 2}, format="json")
    assert checkin.status_code == 201, checkin.json()
    session = client.post(
        "/api/v1/sessions",
        {
            "date": "2026-03-01",
            "sport": "running",
            "planned_duration_min": 60,
            "actual_duration_min": 80,
            "checkin_id": checkin.json()["id"],
            "completed": True,
            "session_quality": 7,
            "session_rpe": 6,
        },
        format="json",
    )
    assert session.status_code == 201, session.json()
    body = session.json()
    assert body["deviated_from_plan"] is True and body["predicted_quality"] is not None
    assert Job.objects.filter(kind="readiness.update_athlete", params={"session_id": body["id"]}).exists()
    assert run_queued_jobs() == 1
    output = ModelOutput.objects.get(user=athlete)
    assert output.sessions_included == 1 and output.phase == "cold_start"
    assert model_output_apply_session(session_id=body["id"]) is False  # idempotent
    model = client.get(f"/api/v1/athletes/{athlete.pk}/model").json()
    assert model["sessions_included"] == 1 and model["phase"] == "cold_start"
    assert {c["feature"] for c in model["coefficients"]} >= {"intercept", "sleep_hours", "form"}
    assert all(c["meaning"] for c in model["coefficients"])


def test_planned_session_completed_later_by_patch(make_user: Any, client_for: Any) -> None:
    athlete = make_user("athlete")
    client = client_for(athlete)
    created = client.post("/api/v1/sessions", {"date": "2026-03-02", "planned_duration_min": 45}, format="json")
    assert created.status_code == 201 and created.json()["plan_job_id"] is None  # linking: test_plan_link.py
    pk = created.json()["id"]
    bad = client.patch(f"/api/v1/sessions/{pk}", {"completed": True}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    done = client.patch(f"/api/v1/sessions/{pk}", {"completed": True, "session_quality": 8}, format="json")
    assert done.status_code == 200 and done.json()["completed_at"]
    assert TrainingSession.objects.get(pk=pk).in_model


@pytest.mark.parametrize(
    "body",
    [
        {"energy_level": 4, "stress_level": 2},
        {**CHECKIN, "sleep_hours": 25},
        {**CHECKIN, "energy_level": 6},
        {**CHECKIN, "energy_level": "high"},
        {**CHECKIN, "stress_level": 2.5},
        {**CHECKIN, "pain_reported": "yes"},
        {**CHECKIN, "mood": 3},
    ],
)
def test_bad_checkins_answer_400_in_the_error_shape(make_user: Any, client_for: Any, body: dict[str, Any]) -> None:
    response = client_for(make_user("athlete")).post("/api/v1/checkins", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_ownership_self_coach_staff_and_others_404(make_user: Any, client_for: Any, staff_client: Any) -> None:
    athlete, other, coach = make_user("athlete"), make_user("athlete"), make_user("coach")
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    own = client_for(athlete).post("/api/v1/checkins", CHECKIN, format="json").json()
    assert client_for(coach).get(f"/api/v1/checkins/{own['id']}").status_code == 200
    assert staff_client.get(f"/api/v1/checkins/{own['id']}").status_code == 200
    hidden = client_for(other).get(f"/api/v1/checkins/{own['id']}")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    assert client_for(other).get(f"/api/v1/athletes/{athlete.pk}/model").status_code == 404
    foreign = client_for(other).post("/api/v1/checkins", {**CHECKIN, "user_id": athlete.pk}, format="json")
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "athlete_not_found"
    by_coach = client_for(coach).post(
        "/api/v1/sessions", {"date": "2026-03-01", "athlete_id": athlete.pk}, format="json"
    )
    assert by_coach.status_code == 201 and by_coach.json()["athlete_id"] == athlete.pk
    steal = client_for(other).post("/api/v1/sessions", {"date": "2026-03-01", "checkin_id": own["id"]}, format="json")
    assert steal.status_code == 404


def test_baseline_upsert(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("athlete"))
    first = client.post(
        "/api/v1/baselines",
        {"experience_level": "advanced", "goals": ["5k under 20"], "typical_week": {"sessions": 4}},
        format="json",
    )
    assert first.status_code == 201
    again = client.post("/api/v1/baselines", {"experience_years": 6}, format="json")
    assert again.status_code == 200 and again.json()["experience_years"] == 6
    assert client.get("/api/v1/baselines").json()["results"][0]["experience_level"] == "advanced"


def test_generate_answers_with_priors_when_nothing_is_stored(make_user: Any, client_for: Any) -> None:
    athlete = make_user("athlete")
    body = client_for(athlete).post("/api/v1/recommendations/generate", CHECKIN, format="json").json()
    assert body["events"] == ["context_loaded", "prediction", "recommendations", "stats", "done"]
    assert body["prediction"]["source"] == "population_priors"
    assert 1 <= body["prediction"]["session_quality"] <= 10
    low, high = body["prediction"]["interval"]
    assert low < body["prediction"]["session_quality"] < high

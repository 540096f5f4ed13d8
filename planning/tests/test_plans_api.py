"""Plan jobs through the API: validation and ownership in the error shape, idempotency, the job handler writing
one result, scoring behind the flag (env override both ways), metrics and the runbook's SQL on the result."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient
from waffle.testutils import override_flag

from conftest import REPO
from core.jobs import job_run
from core.models import CoachAthlete, Job
from planning.engine.contract import payload_failures, sample_payload
from planning.engine.rules import plan_violations
from planning.models import PlanJob
from planning.selectors import library_specs, score_distribution
from planning.services import plans
from planning.services.plans import plan_job_run, plan_request_from
from rollout import flags
from rollout.monitoring.models import MetricMinute
from rollout.monitoring.recorder import flush

FOUNDATIONAL = REPO / "planning" / "data" / "movements-foundational.json"
BODY = {"weeklyGoalDays": 4, "availabilityDays": 4, "goals": ["strength"], "experience": "intermediate"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def library() -> None:
    call_command("import_movements", str(FOUNDATIONAL), "--publish", stdout=io.StringIO())


@pytest.fixture
def athlete(make_user: Any) -> Any:
    return make_user("athlete")


def generate(client: Any, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/api/plans/generate", body, format="json", **headers)


def run_job(job_id: str) -> None:
    """What a worker does with the job's message (the API test's transaction never commits, so none is sent)."""
    job_run(PlanJob.objects.get(pk=job_id).core_job_id)


def fetch(client: Any, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/plans/jobs/{job_id}")
    assert response.status_code == 200, response.content
    return dict(response.json())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weeklyGoalDays": 0}, "weeklyGoalDays"),
        ({"weeklyGoalDays": 8}, "weeklyGoalDays"),
        ({"weeklyGoalDays": "4"}, "weeklyGoalDays"),
        ({"availabilityDays": True}, "availabilityDays"),
        ({"goals": ["flexibility"]}, "goals"),
        ({"goals": "strength"}, "goals"),
        ({"goals": []}, "goals"),
        ({"experience": "elite"}, "experience"),
        ({"durationWeeks": 20}, "durationWeeks"),
        ({"availableWeekdays": [0, 3]}, "availableWeekdays"),
        ({"injuries": ["toe"]}, "injuries"),
        ({"userId": ["x"]}, "userId"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_bad_requests_answer_400_in_the_error_shape(client_for: Any, athlete: Any, change: Any, field: str) -> None:
    response = generate(client_for(athlete), {**BODY, "userId": athlete.pk, **change})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]
    assert not PlanJob.objects.exists()


def test_only_self_coach_athletes_or_staff(client_for: Any, make_user: Any, athlete: Any, library: None) -> None:
    other = make_user("athlete")
    response = generate(client_for(other), {**BODY, "userId": athlete.pk})
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    coach = make_user("coach")
    assert generate(client_for(coach), {**BODY, "userId": athlete.pk}).status_code == 404
    CoachAthlete.objects.create(coach=coach, athlete=athlete)
    assert generate(client_for(coach), {**BODY, "userId": athlete.username}).status_code == 202
    staff = make_user("staff", staff=True)
    assert generate(client_for(staff), {**BODY, "userId": other.pk}).status_code == 202
    assert generate(client_for(staff), {**BODY, "userId": 999999}).json()["error"]["code"] == "user_not_found"
    assert generate(client_for(athlete), {**BODY, "userId": athlete.pk}).status_code == 202
    assert client_for(athlete).post("/api/plans/generate", {}, format="json").status_code == 400
    assert APIClient().post("/api/plans/generate", BODY, format="json").status_code == 401

    job_id = PlanJob.objects.filter(user=athlete).first().job_id
    assert client_for(other).get(f"/api/plans/jobs/{job_id}").status_code == 404  # not yours: not found
    assert client_for(coach).get(f"/api/plans/jobs/{job_id}").status_code == 200
    assert client_for(athlete).get("/api/plans/jobs/not-a-uuid").json()["error"]["code"] == "not_found"


def test_idempotency_key_returns_the_same_job(client_for: Any, athlete: Any, library: None) -> None:
    client = client_for(athlete)
    body = {**BODY, "userId": athlete.pk}
    first = generate(client, body, HTTP_IDEMPOTENCY_KEY="abc-1")
    second = generate(client, body, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json() == {"jobId": first.json()["jobId"], "status": "queued"}
    assert PlanJob.objects.count() == 1 and Job.objects.filter(kind="planning.generate").count() == 1
    conflict = generate(client, {**body, "weeklyGoalDays": 3}, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_key_reused"
    assert generate(client, body).json()["jobId"] != first.json()["jobId"]  # no key: a new job


def test_flag_off_plan_without_scoring_and_the_job_is_idempotent(client_for: Any, athlete: Any, library: None) -> None:
    client = client_for(athlete)
    job_id = generate(client, {**BODY, "userId": athlete.pk, "injuries": ["knee"], "seed": 7}).json()["jobId"]
    assert fetch(client, job_id)["status"] == "queued"
    core_job = PlanJob.objects.get(pk=job_id).core_job
    Job.objects.filter(pk=core_job.pk).update(status="running", started_at=core_job.created_at)  # a worker has it
    assert fetch(client, job_id)["status"] == "running"
    Job.objects.filter(pk=core_job.pk).update(status="queued")
    run_job(job_id)
    body = fetch(client, job_id)
    assert body["status"] == "completed" and body["error"] == ""
    assert set(body) >= {"jobId", "status", "resultData", "error", "createdAt", "startedAt", "finishedAt"}
    assert "scoring" not in body["resultData"]
    plan = body["resultData"]["plan"]
    plan_job = PlanJob.objects.get(pk=job_id)
    assert plan_violations(plan, plan_request_from(plan_job.request), library_specs()) == []
    used = {ex["movementId"] for c in plan["microcycles"] for s in c["sessions"] for ex in s["exercises"]}
    assert "reverse-lunge" not in used and "dumbbell-goblet-squat" not in used  # knee injury
    # run twice (a re-sent message, a second worker): nothing changes, still one row
    assert plan_job_run(plan_job_id=job_id)["skipped"] is True
    assert PlanJob.objects.count() == 1 and PlanJob.objects.get(pk=job_id).result_data == body["resultData"]


def test_flag_on_every_score_validates_logs_and_counts(
    client_for: Any, athlete: Any, library: None, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(athlete)
    caplog.set_level(logging.INFO, logger="planning")
    with override_flag("v1_planning_scoring", active=True):
        flags.reset()
        ids = []
        for days, goals in ((4, ["strength"]), (2, ["endurance", "mobility"]), (6, ["power"]), (7, ["hypertrophy"])):
            body = {**BODY, "userId": athlete.pk, "weeklyGoalDays": days, "availabilityDays": 3, "goals": goals}
            ids.append(generate(client, body).json()["jobId"])
            run_job(ids[-1])
    for job_id in ids:
        scoring = fetch(client, job_id)["resultData"]["scoring"]
        assert payload_failures(scoring) == []
        assert scoring["version"] == "fixed-weight-v1" and 0 <= scoring["total"] <= 1
        assert abs(scoring["total"] - sum(f["contribution"] for f in scoring["factors"].values())) <= 1e-3
        assert f"Applied fixed-weight scoring job={job_id}" in caplog.text
    assert "feature.v1_planning_scoring=True" in caplog.text
    # the runbook's scoring check (->/->> work on PostgreSQL's jsonb and SQLite's JSON alike)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT job_id, status, result_data->>'scoring' IS NOT NULL as has_scoring,"
            " result_data->'scoring'->>'version' as scoring_version FROM plan_jobs WHERE status = 'completed'"
        )
        rows = cursor.fetchall()
    assert len(rows) == 4 and {(r[2], r[3]) for r in rows} == {(True, "fixed-weight-v1")}
    flush()
    generated = MetricMinute.objects.filter(metric="planning.plans_generated", tags__scored="yes")
    assert sum(generated.values_list("sum", flat=True)) == 4
    assert sum(MetricMinute.objects.filter(metric="planning.generation_ms").values_list("count", flat=True)) == 4
    assert score_distribution().scored == 4


@pytest.mark.parametrize(("env", "db_flag", "scored"), [("true", False, True), ("0", True, False)])
def test_environment_override_beats_the_database_both_ways(
    client_for: Any,
    athlete: Any,
    library: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    env: str,
    db_flag: bool,
    scored: bool,
) -> None:
    monkeypatch.setenv("FEATURE_V1_PLANNING_SCORING", env)
    monkeypatch.setattr(plans, "_override_logged", False)
    caplog.set_level(logging.INFO, logger="planning")
    with override_flag("v1_planning_scoring", active=db_flag):
        flags.reset()
        job_id = generate(client_for(athlete), {**BODY, "userId": athlete.pk}).json()["jobId"]
        run_job(job_id)
    assert ("scoring" in PlanJob.objects.get(pk=job_id).result_data) is scored
    assert "Feature flag override from environment" in caplog.text
    assert "reason=env_override" in caplog.text


def test_an_empty_library_fails_the_job_with_a_reason(client_for: Any, athlete: Any) -> None:
    client = client_for(athlete)
    job_id = generate(client, {**BODY, "userId": athlete.pk}).json()["jobId"]
    run_job(job_id)
    body = fetch(client, job_id)
    assert body["status"] == "failed" and "no published movement" in body["error"]
    assert body["resultData"] is None


def test_movement_list_filters(client_for: Any, athlete: Any, make_user: Any, library: None) -> None:
    client = client_for(athlete)
    everything = client.get("/api/movements/").json()
    assert everything["count"] == 8
    assert [m["movement_id"] for m in client.get("/api/movements/?pattern=squat").json()["results"]] == [
        "dumbbell-goblet-squat"
    ]
    assert client.get("/api/movements/?equipment=barbell").json()["count"] == 1
    assert client.get("/api/movements/?level=intermediate").json()["count"] == 1
    assert client.get("/api/movements/?pattern=twist").status_code == 400
    assert client.get("/api/movements/?status=draft").status_code == 403
    staff = client_for(make_user("staff", staff=True))
    assert staff.get("/api/movements/?status=archived").json()["count"] == 0


def test_validate_scoring_command(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("validate_scoring", "--sample", stdout=out)
    assert "1/1 payload(s) valid" in out.getvalue()
    good = sample_payload()
    bad = json.loads(json.dumps(good))
    bad["total"] = 1.5
    del bad["factors"]["safety"]["reasons"]
    path = tmp_path / "payloads.json"
    path.write_text(json.dumps([good, {"resultData": {"scoring": bad}}]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1/2 payload"):  # manage.py exits 1 on a CommandError
        call_command("validate_scoring", "--file", str(path), stdout=io.StringIO(), stderr=err)
    assert "payload 1: $.total: 1.5 is greater than the maximum of 1" in err.getvalue()
    assert "payload 1: $.factors.safety: 'reasons' is a required property" in err.getvalue()

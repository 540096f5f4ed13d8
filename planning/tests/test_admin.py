"""The planning ops console: library filters and actions (audit rows, a reason required), import reports,
plan jobs with the score breakdown, the readable plan and the 7-day score chart."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from waffle.testutils import override_flag

from conftest import REPO
from core.jobs import job_run
from planning.models import Movement, MovementAuditLog, MovementImportRun, PlanJob
from planning.services.plans import plan_job_request
from rollout import flags
from rollout.monitoring.models import AlertRule

FOUNDATIONAL = REPO / "planning" / "data" / "movements-foundational.json"
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(make_user: Any) -> Client:
    client = Client()
    client.force_login(make_user("staff", staff=True, is_superuser=True))
    return client


def test_library_filters_and_actions_with_a_reason(admin_client: Client) -> None:
    call_command("import_movements", str(FOUNDATIONAL), stdout=io.StringIO())
    page = admin_client.get("/admin/planning/movement/?pattern__exact=squat&status__exact=draft")
    assert page.status_code == 200 and b"Dumbbell Goblet Squat" in page.content and b"Push-Up" not in page.content
    ids = list(Movement.objects.filter(pattern__in=["squat", "hinge"]).values_list("pk", flat=True))
    form = {"action": "publish", "_selected_action": ids, "reason": ""}
    admin_client.post("/admin/planning/movement/", form, follow=True)
    assert not Movement.objects.filter(status="published").exists()  # no reason, nothing done
    admin_client.post("/admin/planning/movement/", {**form, "reason": "reviewed by coach"}, follow=True)
    assert Movement.objects.filter(status="published").count() == 2
    assert (
        MovementAuditLog.objects.filter(
            action="published", reason="reviewed by coach", actor__startswith="staff"
        ).count()
        == 2
    )
    admin_client.post("/admin/planning/movement/", {**form, "action": "archive", "reason": "old"}, follow=True)
    assert Movement.objects.filter(status="archived").count() == 2
    detail = admin_client.get(f"/admin/planning/movement/{ids[0]}/change/")
    assert detail.status_code == 200 and b"reviewed by coach" in detail.content


def test_import_run_shows_its_problems(admin_client: Client, tmp_path: Path) -> None:
    records = json.loads(FOUNDATIONAL.read_text())["movements"]
    records[4]["pattern"] = "twist"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(records))
    with pytest.raises(CommandError):
        call_command("import_movements", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    run = MovementImportRun.objects.get()
    page = admin_client.get(f"/admin/planning/movementimportrun/{run.pk}/change/")
    assert page.status_code == 200
    assert b"<td>4</td><td>dumbbell-overhead-press</td><td>pattern</td>" in page.content
    assert admin_client.get("/admin/planning/movementimportrun/").status_code == 200


def test_plan_jobs_breakdown_plan_view_and_chart(admin_client: Client, make_user: Any) -> None:
    call_command("import_movements", str(FOUNDATIONAL), "--publish", stdout=io.StringIO())
    athlete = make_user("athlete")
    body = {"userId": athlete.pk, "weeklyGoalDays": 3, "availabilityDays": 3, "goals": ["strength"]}
    with override_flag("v1_planning_scoring", active=True):
        flags.reset()
        plan_job, _ = plan_job_request(requester=athlete, data={**body, "experience": "beginner"})
        job_run(plan_job.core_job_id)
    plan_job.refresh_from_db()
    assert plan_job.status == PlanJob.Status.COMPLETED
    listing = admin_client.get("/admin/planning/planjob/")
    assert listing.status_code == 200
    assert b'id="score-distribution"' in listing.content and b"1 scored plan(s)" in listing.content
    detail = admin_client.get(f"/admin/planning/planjob/{plan_job.pk}/change/")
    assert detail.status_code == 200
    for text in (b"Score breakdown", b"safety", b"compliance", b"performance", b"weeklyGoalDays", b"generation"):
        assert text in detail.content
    plan = admin_client.get(f"/admin/planning/planjob/{plan_job.pk}/plan/")
    assert plan.status_code == 200 and b'id="plan-grid"' in plan.content
    first = plan_job.result_data["plan"]["microcycles"][0]["sessions"][0]["exercises"][0]["name"]
    assert first.encode() in plan.content and b"deload" in plan.content


def test_planning_registers_its_alert_rules() -> None:
    rules = {rule.name: rule for rule in AlertRule.objects.filter(metric__startswith="planning.")}
    assert rules["Movement library below 8"].operator == "lt" and rules["Movement library below 8"].critical == 8
    assert rules["Planning scoring errors"].tags == {"outcome": "error"}

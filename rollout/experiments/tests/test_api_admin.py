"""The staff API (list, create from the seed's fields, start, stop, analyse, results) and the admin page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.jobs import job_run
from core.models import Job
from rollout.experiments.analysis import experiment_analyse
from rollout.experiments.models import Experiment, ExperimentResult
from rollout.experiments.testing import Arm, populate

pytestmark = pytest.mark.django_db

BODY = {
    "key": "trimp-method-api",
    "name": "TRIMP method comparison",
    "description": "average-HR vs stream",
    "hypothesis": "stream agrees better with external numbers",
    "test_type": "trimp_method",
    "variants": [
        {"name": "average_hr", "traffic_percentage": 50.0, "configuration": {"trimp_method": "average_hr"}},
        {"name": "stream", "traffic_percentage": 50.0, "configuration": {"trimp_method": "stream"}},
    ],
    "metrics": [
        {"name": "feedback.rating", "metric_type": "primary", "aggregation": "mean", "target_direction": "increase"},
        {"name": "feedback.poor_rating", "metric_type": "guardrail", "minimum_detectable_effect": 0.1},
    ],
    "success_criteria": {"min_users_per_variant": 100, "min_days": 7},
}


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/admin/experiments/"), ("post", "/api/admin/experiments/x/start")]
)
def test_staff_only(client_for: Any, make_user: Any, method: str, path: str) -> None:
    assert getattr(client_for(make_user("athlete")), method)(path).status_code == 403
    assert getattr(Client(), method)(path).status_code == 401


def test_create_start_analyse_results_stop(staff_client: Any) -> None:
    created = staff_client.post("/api/admin/experiments/", BODY, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["flag"] == "trimp-method-api" and body["verdict"] is None
    assert [v["name"] for v in body["variants"]] == ["average_hr", "stream"]
    assert {m["source"]: m["role"] for m in body["metrics"]} == {
        "feedback.rating": "primary",
        "feedback.poor_rating": "guardrail",
    }
    assert staff_client.post("/api/admin/experiments/", BODY, format="json").status_code == 409
    assert staff_client.get("/api/admin/experiments/trimp-method-api/results").status_code == 404
    assert staff_client.post("/api/admin/experiments/trimp-method-api/start").json()["status"] == "running"
    accepted = staff_client.post("/api/admin/experiments/trimp-method-api/analyse")
    assert accepted.status_code == 202
    job_run(accepted.json()["job_id"])
    results = staff_client.get("/api/admin/experiments/trimp-method-api/results").json()
    assert results["verdict"] == "keep_running" and "of at least 7 days" in results["reason"]
    listed = staff_client.get("/api/admin/experiments/").json()["experiments"]
    assert [(e["key"], e["verdict"]) for e in listed] == [("trimp-method-api", "keep_running")]
    full = staff_client.post("/api/admin/experiments/trimp-method-api/analyse", {"full": True}, format="json")
    assert full.status_code == 202
    assert Job.objects.get(pk=full.json()["job_id"]).params == {"experiment": "trimp-method-api", "full": True}
    job_run(full.json()["job_id"])
    rollups = ExperimentResult.objects.filter(job_id=full.json()["job_id"]).get().data["rollups"]
    assert {r["mode"] for r in rollups.values()} == {"full"}
    bad = staff_client.post("/api/admin/experiments/trimp-method-api/analyse", {"full": "sometimes"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert staff_client.post("/api/admin/experiments/trimp-method-api/stop").json()["status"] == "stopped"
    assert staff_client.post("/api/admin/experiments/trimp-method-api/start").status_code == 409


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (
            {"variants": [{"name": "a", "traffic_percentage": 70.0}, {"name": "b", "traffic_percentage": 50.0}]},
            "invalid_experiment",
        ),
        ({"metrics": [{"name": "nope", "metric_type": "primary"}]}, "invalid_experiment"),
        ({"key": "not a slug"}, "validation_error"),
    ],
)
def test_bad_bodies_answer_400_in_the_error_shape(staff_client: Any, change: dict[str, Any], code: str) -> None:
    response = staff_client.post("/api/admin/experiments/", {**BODY, **change}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == code


def test_admin_page_shows_verdict_forest_plot_srm_and_exposures(staff_client: Any, make_user: Any) -> None:
    staff_client.post("/api/admin/experiments/", BODY, format="json")
    staff_client.post("/api/admin/experiments/trimp-method-api/start")
    experiment = Experiment.objects.get(key="trimp-method-api")
    Experiment.objects.filter(pk=experiment.pk).update(started_at=timezone.now() - timedelta(days=9))
    experiment.refresh_from_db()
    populate(
        experiment,
        [Arm("average_hr", 150, 3.3, 0.6), Arm("stream", 150, 3.8, 0.6)],
        source="feedback.rating",
        start=experiment.started_at,
        seed=11,
        prefix="admin-page",
    )
    result = experiment_analyse(key=experiment.key)
    assert result.verdict == "ship", result.reason
    admin_user = make_user("staff", staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin_user)
    page = browser.get(f"/admin/experiments/experiment/{experiment.pk}/change/").content.decode()
    assert ">ship</b>" in page and "stream improves feedback.rating" in page
    assert "sums full (events folded until" in page
    assert (
        'aria-label="Forest plot of relative effects"' in page and "feedback.poor_rating (guardrail) · stream" in page
    )
    assert "relative effect vs control" in page and "+0%" in page  # the axis and its labels
    assert "OK</b> — chi-square p = 1" in page
    assert 'aria-label="Exposures over time"' in page and "average_hr: 150" in page
    listing = browser.get("/admin/experiments/experiment/").content.decode()
    assert ">ship</b>" in listing

"""Submitting feedback and accuracy validations through the API; triage in the job; staff updates."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.jobs import job_run
from core.models import Job
from feedback.models import AccuracyValidation, Feedback, FeedbackChange, RoutingRule, Team
from rollout.monitoring import flush
from rollout.monitoring.models import MetricMinute

pytestmark = pytest.mark.django_db
SUBMIT = "/api/feedback/submit"


def _triage_all() -> None:
    for job in Job.objects.filter(kind="feedback.triage", status="queued"):
        job_run(job.pk)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("bug_report", {}),
        ("feature_request", {}),
        ("performance_issue", {}),
        ("usability_issue", {}),
        ("general_feedback", {"rating": 4}),
        ("satisfaction_survey", {"rating": 5}),
    ],
)
def test_each_type_submits_and_is_triaged(client_for: Any, make_user: Any, kind: str, extra: dict[str, Any]) -> None:
    user = make_user()
    response = client_for(user).post(
        SUBMIT, {"type": kind, "message": f"About {kind}: it works", **extra}, format="json", HTTP_X_APP_VERSION="2.3.1"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "new" and body["duplicate"] is False and body["acknowledgement"]
    feedback = Feedback.objects.get(pk=body["id"])
    assert feedback.context["app_version"] == "2.3.1"
    assert feedback.context["flags"]["settings_page_enabled"] is True
    _triage_all()
    feedback.refresh_from_db()
    assert feedback.status == "triaged" and feedback.priority and feedback.sentiment and feedback.category
    assert feedback.priority_rule and feedback.category_rule


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "rant", "message": "x"}, "validation_error"),
        ({"type": "bug_report"}, "validation_error"),
        ({"type": "bug_report", "message": "   "}, "validation_error"),
        ({"type": "satisfaction_survey", "message": "ok"}, "rating_required"),
        ({"type": "general_feedback", "message": "ok", "rating": 6}, "validation_error"),
        ({"type": "bug_report", "message": "ok", "category": "vibes"}, "validation_error"),
        ({"type": "bug_report", "message": "ok", "activity_id": 999999}, "activity_not_found"),
    ],
)
def test_bad_bodies(client_for: Any, make_user: Any, body: dict[str, Any], code: str) -> None:
    response = client_for(make_user()).post(SUBMIT, body, format="json")
    assert response.status_code in (400, 404)
    assert response.json()["error"]["code"] == code
    assert Feedback.objects.count() == 0 and not Job.objects.filter(kind="feedback.triage").exists()


def test_oversize_message_is_rejected(client_for: Any, make_user: Any) -> None:
    client = client_for(make_user())
    too_long = client.post(SUBMIT, {"type": "bug_report", "message": "x" * 5001}, format="json")
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "message_too_long"
    huge = client.post(SUBMIT, {"type": "bug_report", "message": "x" * 60_000}, format="json")
    assert huge.status_code == 413
    assert Feedback.objects.count() == 0


def test_duplicates_collapse(client_for: Any, make_user: Any) -> None:
    client = client_for(make_user())
    first = client.post(SUBMIT, {"type": "bug_report", "message": "Upload fails"}, format="json")
    second = client.post(SUBMIT, {"type": "bug_report", "message": "  upload   FAILS "}, format="json")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"] and second.json()["duplicate"] is True
    assert Feedback.objects.get().duplicate_count == 1
    other = client.post(SUBMIT, {"type": "feature_request", "message": "Upload fails"}, format="json")
    assert other.status_code == 201


def test_another_users_feedback_is_invisible(client_for: Any, make_user: Any) -> None:
    owner, other = make_user(), make_user()
    created = client_for(owner).post(SUBMIT, {"type": "bug_report", "message": "mine"}, format="json").json()
    assert client_for(owner).get(f"/api/feedback/mine/{created['id']}").status_code == 200
    assert client_for(other).get(f"/api/feedback/mine/{created['id']}").status_code == 404
    assert client_for(other).get("/api/feedback/mine").json()["count"] == 0
    assert client_for(owner).get("/api/feedback/mine").json()["count"] == 1
    assert APIClient().post(SUBMIT, {"type": "bug_report", "message": "x"}, format="json").status_code == 401


def test_throttling_answers_429(client_for: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "feedback": "2/hour"}
    )
    client = client_for(make_user())
    codes = [
        client.post(SUBMIT, {"type": "bug_report", "message": f"m{i}"}, format="json").status_code for i in range(3)
    ]
    cache.clear()
    assert codes == [201, 201, 429]


def test_override_survives_retriage(staff_client: Any, client_for: Any, make_user: Any) -> None:
    created = (
        client_for(make_user())
        .post(SUBMIT, {"type": "feature_request", "message": "Add dark mode"}, format="json")
        .json()
    )
    _triage_all()
    assert Feedback.objects.get(pk=created["id"]).priority == "low"
    response = staff_client.patch(
        f"/api/admin/feedback/{created['id']}", {"priority": "high", "note": "VIP"}, format="json"
    )
    assert response.status_code == 200 and response.json()["priority"] == "high"
    from feedback.services import feedback_triage

    feedback_triage(feedback_id=created["id"])
    feedback = Feedback.objects.get(pk=created["id"])
    assert feedback.priority == "high" and feedback.priority_rule == "override"
    assert feedback.overrides["priority"]["value"] == "high"
    assert feedback.acknowledged_at is not None
    change = FeedbackChange.objects.get(feedback=feedback, field="priority")
    assert (change.before, change.after, change.note) == ("low", "high", "VIP")


def test_routing_and_status_workflow(staff_client: Any, client_for: Any, make_user: Any) -> None:
    lead = make_user("staff", staff=True)
    team = Team.objects.create(name="data science")
    RoutingRule.objects.update_or_create(
        category="accuracy", defaults={"team": team, "assignee": lead}
    )  # seeded: ops edit it
    created = (
        client_for(make_user())
        .post(SUBMIT, {"type": "bug_report", "message": "TRIMP is wrong vs Garmin"}, format="json")
        .json()
    )
    _triage_all()
    feedback = Feedback.objects.get(pk=created["id"])
    assert feedback.category == "accuracy" and feedback.team == team and feedback.assignee == lead
    url = f"/api/admin/feedback/{feedback.pk}"
    assert staff_client.patch(url, {"status": "in_progress"}, format="json").json()["status"] == "in_progress"
    assert staff_client.patch(url, {"status": "resolved"}, format="json").json()["status"] == "resolved"
    bad = staff_client.patch(url, {"status": "new"}, format="json")
    assert bad.status_code == 409 and bad.json()["error"]["code"] == "invalid_transition"
    assert staff_client.patch(url, {"status": "closed"}, format="json").json()["status"] == "closed"
    history = list(FeedbackChange.objects.filter(feedback=feedback, field="status").values_list("after", flat=True))
    assert history == ["in_progress", "resolved", "closed"]
    assert client_for(make_user()).patch(url, {"status": "closed"}, format="json").status_code == 403


def _scored_activity(athlete: Any, trimp: float, method: str) -> Any:
    from datetime import date

    from django.utils import timezone

    from training.models import Activity

    return Activity.objects.create(
        athlete=athlete,
        sport="run",
        start=timezone.now(),
        local_date=date.today(),
        source="json",
        external_id=f"x-{trimp}-{method}",
        trimp=trimp,
        trimp_calculation_method=method,
    )


def test_accuracy_validation_computes_difference_and_feeds_the_metric(client_for: Any, make_user: Any) -> None:
    athlete = make_user()
    activity = _scored_activity(athlete, 100.0, "stream")
    client = client_for(athlete)
    response = client.post(
        "/api/feedback/accuracy-validation",
        {"activity_id": activity.pk, "source": "garmin", "external_value": 104.0},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["our_value"] == 100.0 and body["our_method"] == "stream"
    assert body["relative_difference"] == pytest.approx((100 - 104) / 104) and body["within_5pct"] is True
    far = client.post(
        "/api/feedback/accuracy-validation",
        {"activity_id": activity.pk, "source": "strava", "external_value": 80.0},
        format="json",
    ).json()
    assert far["within_5pct"] is False
    flush()
    rows = {r.tags_key: (r.count, r.sum) for r in MetricMinute.objects.filter(metric="trimp.accuracy_within_5pct")}
    assert rows == {"method=stream,source=garmin": (1, 1.0), "method=stream,source=strava": (1, 0.0)}


def test_accuracy_validation_errors(client_for: Any, make_user: Any) -> None:
    athlete, other = make_user(), make_user()
    activity = _scored_activity(athlete, 50.0, "average_hr")
    unscored = _scored_activity(athlete, 0.0, "")
    from training.models import Activity

    Activity.objects.filter(pk=unscored.pk).update(trimp=None)
    url = "/api/feedback/accuracy-validation"
    not_mine = client_for(other).post(
        url, {"activity_id": activity.pk, "source": "garmin", "external_value": 50}, format="json"
    )
    assert not_mine.status_code == 404
    negative = client_for(athlete).post(
        url, {"activity_id": activity.pk, "source": "garmin", "external_value": -1}, format="json"
    )
    assert negative.status_code == 400 and negative.json()["error"]["code"] == "validation_error"
    no_trimp = client_for(athlete).post(
        url, {"activity_id": unscored.pk, "source": "polar", "external_value": 10}, format="json"
    )
    assert no_trimp.status_code == 409 and no_trimp.json()["error"]["code"] == "activity_not_scored"
    bad_source = client_for(athlete).post(
        url, {"activity_id": activity.pk, "source": "fitbit", "external_value": 10}, format="json"
    )
    assert bad_source.status_code == 400
    assert AccuracyValidation.objects.count() == 0


def test_low_accuracy_opens_the_monitoring_alert(client_for: Any, make_user: Any) -> None:
    from rollout.monitoring.evaluation import rules_evaluate
    from rollout.monitoring.models import Alert, AlertRule

    athlete = make_user()
    client = client_for(athlete)
    for i in range(12):
        activity = _scored_activity(athlete, 100.0 + i, "stream")
        external = 101.0 + i if i < 7 else 150.0  # 7 of 12 within 5 % = 58 %
        client.post(
            "/api/feedback/accuracy-validation",
            {"activity_id": activity.pk, "source": "garmin", "external_value": external},
            format="json",
        )
    flush()
    rules_evaluate(force=True)
    rule = AlertRule.objects.get(name="TRIMP accuracy within 5 %")
    alert = Alert.objects.get(rule=rule)
    assert alert.tags == {"method": "stream"} and alert.severity == "critical"
    assert alert.value == pytest.approx(7 / 12)

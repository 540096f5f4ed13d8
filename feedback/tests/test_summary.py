"""The summary's numbers match a straightforward Python computation over the same rows."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from feedback.models import Feedback
from feedback.selectors import PROBLEM_TYPES, feedback_summary
from feedback.services import feedback_set_status, feedback_submit, feedback_triage

pytestmark = pytest.mark.django_db
KINDS = [
    "bug_report",
    "feature_request",
    "performance_issue",
    "usability_issue",
    "general_feedback",
    "satisfaction_survey",
]
TEXTS = [
    "Upload fails with an error",
    "Love the new charts, great work",
    "Loading the list is slow",
    "TRIMP is wrong compared with Garmin",
    "Menu is confusing",
    "Crash when opening a ride",
    "Fine",
]


@pytest.fixture
def rows(make_user: Any) -> list[Feedback]:
    rng = random.Random(3)
    users = [make_user() for _ in range(4)]
    staff = make_user("staff", staff=True)
    now = timezone.now()
    for i in range(120):
        kind = rng.choice(KINDS)
        rating = rng.randint(1, 5) if kind == "satisfaction_survey" or rng.random() < 0.3 else None
        feedback, _ = feedback_submit(
            user=rng.choice(users),
            type=kind,
            message=f"{rng.choice(TEXTS)} {i}",
            rating=rating,
            now=now - timedelta(days=rng.uniform(0, 60)),
            variants={"onboarding": rng.choice(["a", "b"])},
        )
        feedback_triage(feedback_id=feedback.pk)
        if rng.random() < 0.3:
            feedback_set_status(feedback_id=feedback.pk, status="in_progress", actor=staff)
    return list(Feedback.objects.all())


def _python_summary(items: list[Feedback], now: Any) -> dict[str, Any]:
    rated = [f for f in items if f.rating is not None]
    weekly: dict[Any, list[int]] = defaultdict(list)
    for f in rated:
        weekly[f.week].append(f.rating)
    topics = Counter(f.topic for f in items if f.topic and (f.sentiment == "negative" or f.type in PROBLEM_TYPES))
    breaches = sum(
        1
        for f in items
        if (f.acknowledged_at is None and f.ack_due_at < now)
        or (f.acknowledged_at and f.acknowledged_at > f.ack_due_at)
    )
    return {
        "total": len(items),
        "by_type": dict(Counter(f.type for f in items)),
        "by_status": dict(Counter(f.status for f in items)),
        "by_priority": dict(Counter(f.priority for f in items)),
        "by_category": dict(Counter(f.category for f in items)),
        "sentiment": dict(Counter(f.sentiment for f in items)),
        "mean": sum(f.rating for f in rated) / len(rated),
        "by_week": {w: sum(v) / len(v) for w, v in weekly.items()},
        "topics": topics,
        "breaches": breaches,
    }


def test_summary_matches_python(rows: list[Feedback]) -> None:
    now = timezone.now()
    summary = feedback_summary(now=now)
    expected = _python_summary(rows, now)
    for key in ("total", "by_type", "by_status", "by_priority", "by_category", "sentiment"):
        assert summary[key] == expected[key], key
    assert summary["satisfaction"]["mean"] == pytest.approx(expected["mean"])
    assert {w["week"]: w["mean"] for w in summary["satisfaction"]["by_week"]} == pytest.approx(expected["by_week"])
    assert summary["sla"]["breaches"] == expected["breaches"]
    top = expected["topics"].most_common()
    assert [t["count"] for t in summary["top_issues"]] == [n for _, n in top[:10]]


def test_summary_filters(rows: list[Feedback], staff_client: Any) -> None:
    now = timezone.now()
    start = (now - timedelta(days=20)).date()
    recent = [f for f in rows if f.created_at.date() >= start]
    body = staff_client.get(f"/api/admin/feedback/summary?date_from={start}").json()
    assert body["total"] == len(recent)
    variant_b = [f for f in rows if f.context["variants"]["onboarding"] == "b"]
    assert staff_client.get("/api/admin/feedback/summary?variant=onboarding:b").json()["total"] == len(variant_b)
    with_flag = [f for f in rows if f.context["flags"].get("settings_page_enabled")]
    assert staff_client.get("/api/admin/feedback/summary?flag=settings_page_enabled").json()["total"] == len(with_flag)
    bad = staff_client.get("/api/admin/feedback/summary?date_from=2026-12-01&date_to=2026-11-01")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert staff_client.get("/api/admin/feedback/summary?date_from=yesterday").status_code == 400


def test_summary_is_staff_only(client_for: Any, make_user: Any) -> None:
    assert client_for(make_user()).get("/api/admin/feedback/summary").status_code == 403


def test_triage_console_and_summary_page(rows: list[Feedback], make_user: Any) -> None:
    admin_user = make_user("staff", staff=True, is_superuser=True)
    lead = make_user("staff", staff=True, username="lead")
    client = Client()
    client.force_login(admin_user)
    listing = client.get("/admin/feedback/feedback/?priority__exact=critical&flag=settings_page_enabled")
    assert listing.status_code == 200
    chosen = [f.pk for f in rows[:3]]
    client.post(
        "/admin/feedback/feedback/",
        {"action": "assign", "_selected_action": chosen, "assignee": lead.pk, "note": "take these"},
    )
    assert set(Feedback.objects.filter(pk__in=chosen).values_list("assignee", flat=True)) == {lead.pk}
    client.post("/admin/feedback/feedback/", {"action": "status_closed", "_selected_action": chosen, "note": "done"})
    assert set(Feedback.objects.filter(pk__in=chosen).values_list("status", flat=True)) == {"closed"}
    client.post(
        "/admin/feedback/feedback/",
        {"action": "priority_critical", "_selected_action": chosen[:1]},
    )
    assert Feedback.objects.get(pk=chosen[0]).priority == "critical"
    page = client.get("/admin/feedback-summary/").content.decode()
    assert 'id="satisfaction-chart"' in page and "<polyline" in page and 'id="accuracy-chart"' in page


def _counts() -> set[tuple[Any, ...]]:
    from feedback.models import DailyCount

    return set(
        DailyCount.objects.filter(count__gt=0).values_list(
            "day", "dimension", "value", "count", "rating_n", "rating_sum"
        )
    )


def test_daily_counts_kept_by_the_services_equal_a_rebuild(rows: list[Feedback], make_user: Any) -> None:
    from feedback.rollup import rebuild
    from feedback.services import feedback_assign, feedback_override

    staff = make_user("staff", staff=True)
    feedback_override(feedback_id=rows[0].pk, field="sentiment", value="negative", actor=staff)
    feedback_assign(feedback_id=rows[1].pk, assignee=staff, actor=staff)
    rows[2].user.delete()  # cascades: its items leave the counts
    kept = _counts()
    rebuild()
    assert _counts() == kept


def test_filtered_summary_reads_items_and_agrees_with_the_rollup(rows: list[Feedback]) -> None:
    now = timezone.now()
    from_rollup = feedback_summary(now=now)
    from_items = feedback_summary(now=now, flag="settings_page_enabled")  # every item had it on
    for key in ("total", "by_type", "by_status", "by_priority", "by_category", "sentiment", "top_issues", "sla"):
        assert from_rollup[key] == from_items[key], key
    weeks = [(w["week"], w["ratings"]) for w in from_items["satisfaction"]["by_week"]]
    assert [(w["week"], w["ratings"]) for w in from_rollup["satisfaction"]["by_week"]] == weeks
    assert [w["mean"] for w in from_rollup["satisfaction"]["by_week"]] == pytest.approx(
        [w["mean"] for w in from_items["satisfaction"]["by_week"]]
    )

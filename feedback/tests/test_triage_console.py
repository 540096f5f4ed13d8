"""The triage console (feedback admin): the message and the SLA in the list, actions that are choices,
honest result messages, and an item page that edits through the services (history kept)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from feedback.models import Feedback, FeedbackChange
from feedback.services import feedback_submit

pytestmark = pytest.mark.django_db

LONG = "The training load page takes forever to load and then the chart shows nothing at all for last week. " * 2


@pytest.fixture
def console(make_user: Any) -> tuple[Client, Any]:
    ops = make_user("staff", staff=True, is_superuser=True, username="ops")
    client = Client()
    client.force_login(ops)
    return client, ops


@pytest.fixture
def item(make_user: Any) -> Feedback:
    feedback, _ = feedback_submit(user=make_user("athlete"), type="bug_report", message=LONG, queue_triage=False)
    Feedback.objects.filter(pk=feedback.pk).update(ack_due_at=timezone.now() - timedelta(hours=1))
    return Feedback.objects.get(pk=feedback.pk)


def test_the_list_shows_the_message_and_the_sla(console: tuple[Client, Any], item: Feedback) -> None:
    client, _ = console
    html = client.get("/admin/feedback/feedback/").content.decode()
    assert "The training load page takes forever" in html  # the message, shortened
    assert "column-sla" in html and "breached" in html
    table = html[html.index('id="result_list"') :]
    header = table[: table.index("</thead>")]
    assert header.index("column-sla") < header.index("column-message_excerpt") < header.index("column-type")


def test_actions_are_choices_not_free_text(console: tuple[Client, Any], item: Feedback, make_user: Any) -> None:
    client, _ = console
    lead = make_user("staff", staff=True, username="lead")
    html = client.get("/admin/feedback/feedback/").content.decode()
    assert '<select name="assignee"' in html and f'<option value="{lead.pk}">lead</option>' in html
    assert 'name="value"' not in html  # no typed values any more
    for action in ("priority_critical", "category_accuracy", "sentiment_negative", "status_in_progress"):
        assert f'value="{action}"' in html
    client.post("/admin/feedback/feedback/", {"action": "priority_high", "_selected_action": [item.pk], "note": "x"})
    item.refresh_from_db()
    assert item.priority == "high" and "priority" in item.overrides


def test_a_failure_is_never_reported_as_a_green_zero(console: tuple[Client, Any], item: Feedback) -> None:
    client, _ = console
    Feedback.objects.filter(pk=item.pk).update(status="closed")
    response = client.post(
        "/admin/feedback/feedback/", {"action": "status_triaged", "_selected_action": [item.pk]}, follow=True
    )  # closed → triaged is not a valid transition
    shown = [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]
    assert shown and all(level == "error" for level, _ in shown), shown
    assert not any("0 item(s)" in text for _, text in shown)
    assert "failed for 1 item(s)" in shown[0][1]


def test_the_item_page_edits_through_the_services(console: tuple[Client, Any], item: Feedback, make_user: Any) -> None:
    client, ops = console
    url = f"/admin/feedback/feedback/{item.pk}/change/"
    page = client.get(url).content.decode()
    for field in ("status", "priority", "category", "sentiment", "assignee"):
        assert f'name="{field}"' in page
    assert 'name="message"' not in page and LONG.strip()[:40] in page  # the message is shown, not editable
    response = client.post(
        url,
        {
            "status": "triaged",
            "priority": "critical",
            "category": "performance",
            "sentiment": "negative",
            "assignee": ops.pk,
            "note": "slow page, many users",
            "changes-TOTAL_FORMS": "0",  # the read-only history inline's management form
            "changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    item.refresh_from_db()
    assert (item.status, item.priority, item.category, item.assignee_id) == (
        "triaged",
        "critical",
        "performance",
        ops.pk,
    )
    assert set(item.overrides) >= {"priority", "category", "sentiment"}
    fields = set(FeedbackChange.objects.filter(feedback=item).values_list("field", flat=True))
    assert {"status", "priority", "category", "sentiment", "assignee"} <= fields
    assert FeedbackChange.objects.filter(feedback=item, note="slow page, many users").exists()


def test_a_viewer_without_change_permission_sees_no_form(item: Feedback, make_user: Any) -> None:
    from django.contrib.auth.models import Permission

    viewer = make_user("staff", staff=True, username="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_feedback"))
    client = Client()
    client.force_login(viewer)
    page = client.get(f"/admin/feedback/feedback/{item.pk}/change/").content.decode()
    assert 'name="priority"' not in page and "The training load page" in page

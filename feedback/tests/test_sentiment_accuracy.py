"""Triage's sentiment against messages labelled by hand (feedback/tests/data/): accuracy over a stated
threshold, and every obvious complaint negative. The figures are reported in docs/feedback.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feedback.triage import acknowledgement_for, sentiment_of

DATA = Path(__file__).parent / "data"
# The set the domain lexicon and complaint phrases were tuned on, and a held-out set never used for tuning.
TUNING_ACCURACY_AT_LEAST = 0.95
HOLDOUT_ACCURACY_AT_LEAST = 0.75


def _messages(name: str) -> list[dict[str, Any]]:
    return list(json.loads((DATA / name).read_text())["messages"])


def _accuracy(messages: list[dict[str, Any]]) -> float:
    return sum(sentiment_of(m["message"])[0] == m["label"] for m in messages) / len(messages)


def test_the_labelled_set_is_large_and_balanced() -> None:
    messages = _messages("labelled_feedback.json")
    labels = [m["label"] for m in messages]
    assert len(messages) >= 50
    assert {labels.count(label) >= 10 for label in ("positive", "neutral", "negative")} == {True}
    assert sum(m["obvious_complaint"] for m in messages) >= 20


def test_triage_accuracy_on_the_labelled_set() -> None:
    assert _accuracy(_messages("labelled_feedback.json")) >= TUNING_ACCURACY_AT_LEAST


def test_triage_accuracy_on_the_held_out_set() -> None:
    assert _accuracy(_messages("labelled_feedback_holdout.json")) >= HOLDOUT_ACCURACY_AT_LEAST


@pytest.mark.parametrize(
    "message",
    [m["message"] for m in _messages("labelled_feedback.json") if m["obvious_complaint"]],
)
def test_every_obvious_complaint_is_negative(message: str) -> None:
    label, score = sentiment_of(message)
    assert label == "negative", (score, message)


def test_acknowledgements_promise_only_a_queue() -> None:
    critical = acknowledgement_for("bug_report", "critical", "Reliability")
    assert "Reliability team's queue" in critical and "alerted" not in critical
    unrouted = acknowledgement_for("bug_report", "medium", None)
    assert "our triage queue" in unrouted and "team" not in unrouted


@pytest.mark.django_db
def test_seeded_routing_names_a_real_team_in_the_acknowledgement(make_user: Any) -> None:
    from feedback.models import RoutingRule
    from feedback.services import feedback_submit, feedback_triage

    assert set(RoutingRule.objects.values_list("category", flat=True)) == {
        "accuracy",
        "performance",
        "reliability",
        "usability",
        "documentation",
        "other",
    }
    item, _ = feedback_submit(
        user=make_user("athlete"),
        type="bug_report",
        message="The app crashes every time I upload a FIT file from my Garmin.",
        queue_triage=False,
    )
    triaged = feedback_triage(feedback_id=item.pk)
    assert triaged.priority == "critical" and triaged.sentiment == "negative"
    assert triaged.team is not None and triaged.team.routes.filter(category=triaged.category).exists()
    assert f"the {triaged.team.name} team's queue" in triaged.acknowledgement

"""Triage rules (pure): sentiment from VADER, priority with the rule that fired, category when left empty."""

from __future__ import annotations

import pytest

from feedback.triage import TriageInput, category_of, keywords_of, sentiment_of, triage


def test_sentiment_uses_vader_thresholds() -> None:
    assert sentiment_of("I love this app, it is great!")[0] == "positive"
    assert sentiment_of("This is terrible and broken, I hate it")[0] == "negative"
    assert sentiment_of("The page has a button.")[0] == "neutral"
    label, score = sentiment_of("not good")
    assert label == "negative" and -1 <= score < 0  # VADER handles negation, a word list would not


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        ("I lost all my activities after the update", "data_loss"),
        ("My workout history disappeared", "data_loss"),
        ("The app crashes on start", "crash"),
        ("I can see someone else's activities, privacy problem", "security"),
    ],
)
def test_critical_rules(message: str, rule: str) -> None:
    result = triage(TriageInput(type="bug_report", category="", message=message, rating=None))
    assert (result.priority, result.priority_rule) == ("critical", rule)


def test_wrong_numbers_at_scale_is_critical_but_a_single_report_is_not() -> None:
    one = triage(TriageInput(type="bug_report", category="accuracy", message="TRIMP value is off", rating=3))
    assert one.priority != "critical"
    many = triage(
        TriageInput(
            type="bug_report", category="accuracy", message="TRIMP value is off", rating=3, accuracy_reports_24h=4
        )
    )
    assert (many.priority, many.priority_rule) == ("critical", "wrong_numbers_at_scale")


def test_high_medium_low() -> None:
    high = triage(
        TriageInput(type="bug_report", category="", message="Upload is awful, horrible and useless", rating=None)
    )
    assert (high.priority, high.priority_rule) == ("high", "problem_with_strong_negative")
    medium = triage(TriageInput(type="usability_issue", category="", message="The menu layout", rating=None))
    assert medium.priority == "medium"
    low = triage(TriageInput(type="feature_request", category="", message="Please add dark mode, thanks!", rating=None))
    assert (low.priority, low.priority_rule) == ("low", "default")


def test_category_when_empty_and_user_choice_kept() -> None:
    assert category_of("bug_report", "", "My TRIMP is wrong compared with Garmin") == ("accuracy", "keyword:accuracy")
    assert category_of("general_feedback", "", "Loading takes forever") == ("performance", "keyword:performance")
    assert category_of("usability_issue", "", "meh") == ("usability", "type:usability_issue")
    assert category_of("general_feedback", "", "meh") == ("other", "default")
    assert category_of("bug_report", "documentation", "My TRIMP is wrong") == ("documentation", "user")


def test_keywords_skip_stopwords() -> None:
    assert keywords_of("The upload of my FIT file fails, the upload fails again") == ("upload", "fails", "fit", "file")

"""Demo feedback: a few hundred realistic items and accuracy validations over the demo athletes."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from feedback.models import Feedback
from feedback.services import accuracy_validation_create, feedback_submit, feedback_triage
from training.models import Activity

MESSAGES: dict[str, list[str]] = {
    "bug_report": [
        "The app crashed when I opened my ride from Saturday.",
        "My TRIMP for yesterday's run looks wrong, it is double what Garmin shows.",
        "I lost my workout history after the update, all my activities are gone!",
        "Upload of my FIT file fails with an error every time.",
        "Heart rate chart is empty for my interval session.",
        "The fitness chart shows a gap for last week even though I trained.",
    ],
    "feature_request": [
        "Please add a weekly summary email with my training load.",
        "Would love to compare my TRIMP with TrainingPeaks TSS side by side.",
        "Could you support power-based training load for cycling?",
        "An export of my fitness and fatigue numbers to CSV would be great.",
    ],
    "performance_issue": [
        "Loading my activity list is really slow, takes forever on mobile.",
        "The training load page times out when I pick a whole year.",
        "Sync is sluggish since last week.",
    ],
    "usability_issue": [
        "It is hard to find where to set my resting heart rate.",
        "The menu is confusing, I can't find the readiness check-in.",
        "The colours on the form chart are unclear.",
    ],
    "general_feedback": [
        "Great app, the new TRIMP numbers finally match how hard my sessions feel!",
        "Love the readiness advice, it kept me from overdoing it before my race.",
        "Nice work, but the documentation about fitness and fatigue could explain more.",
        "The numbers seem fine. Keep going.",
    ],
    "satisfaction_survey": [
        "Very happy with Stamina.",
        "Good overall, some rough edges.",
        "Not convinced the load numbers are right.",
        "Excellent, my coach and I use it daily.",
    ],
}
RATINGS = {
    "Very happy with Stamina.": 5,
    "Good overall, some rough edges.": 4,
    "Not convinced the load numbers are right.": 2,
    "Excellent, my coach and I use it daily.": 5,
}


def seed_feedback_demo(users: Any) -> str:
    """Idempotent: does nothing once demo feedback exists."""
    athletes = users.all_athletes
    if Feedback.objects.filter(user__in=athletes, context__app_version="demo").exists():
        return "already seeded"
    rng = random.Random(42)
    now = timezone.now()
    created = 0
    for i in range(300):
        user = rng.choice(athletes)
        kind = rng.choices(list(MESSAGES), weights=[25, 15, 10, 10, 20, 20])[0]
        message = rng.choice(MESSAGES[kind])
        rating = RATINGS.get(message) if kind == "satisfaction_survey" else rng.choice([None, None, 2, 3, 4, 5])
        when = now - timedelta(days=rng.uniform(0, 84), minutes=i)
        feedback, duplicate = feedback_submit(
            user=user,
            type=kind,
            message=f"{message} (#{i})",
            rating=rating,
            app_version="demo",
            now=when,
            queue_triage=False,
        )
        if not duplicate:
            feedback_triage(feedback_id=feedback.pk, now=when)
            created += 1
    scored = list(Activity.objects.filter(athlete__in=athletes, trimp__isnull=False).order_by("-start")[:400])
    rng.shuffle(scored)
    validations = 0
    for activity in scored[:150]:
        spread = 0.04 if activity.trimp_calculation_method == "stream" else 0.12
        external = max(1.0, activity.trimp * (1 + rng.gauss(0.01, spread)))
        source = rng.choice(["garmin", "strava", "polar", "trainingpeaks"])
        accuracy_validation_create(
            user=activity.athlete, activity_id=activity.pk, source=source, external_value=round(external, 1)
        )
        validations += 1
    return f"{created} feedback items, {validations} accuracy validations"

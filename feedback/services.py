"""Writes for feedback: submit (with duplicate collapse), triage, overrides, status, assignment, accuracy."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ConflictError, NotFoundError, ServiceError
from core.jobs import JobContext, job_enqueue, job_handler
from core.models import Job, User
from core.permissions import is_staff_user, scope_to_user
from feedback import rollup
from feedback.limits import EXTERNAL_VALUE_MAX, EXTERNAL_VALUE_MIN
from feedback.models import (
    AccuracyValidation,
    Category,
    ExternalSource,
    Feedback,
    FeedbackChange,
    FeedbackType,
    Priority,
    RoutingRule,
    Sentiment,
    Status,
    Team,
)
from feedback.triage import TriageInput, acknowledgement_for, triage
from rollout.flags import current_snapshot, evaluate
from rollout.monitoring import record
from training.models import Activity

ACK_TARGET = timedelta(hours=24)
TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.TRIAGED, Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.TRIAGED: {Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED},
    Status.IN_PROGRESS: {Status.TRIAGED, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.IN_PROGRESS, Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
}
OVERRIDABLE = {"priority": Priority.values, "sentiment": Sentiment.values, "category": Category.values}
_SPACES = re.compile(r"\s+")


def _max_message() -> int:
    return int(getattr(settings, "FEEDBACK_MAX_MESSAGE_CHARS", 5000))


def message_fingerprint(feedback_type: str, message: str) -> str:
    normalized = _SPACES.sub(" ", message.strip().lower())
    return hashlib.sha256(f"{feedback_type}\n{normalized}".encode()).hexdigest()


def _activity_for(user: User, activity_id: int | None) -> Any:
    if activity_id is None:
        return None
    activity = scope_to_user(Activity.objects.all(), user).filter(pk=activity_id).first()
    if activity is None:
        raise NotFoundError("activity_not_found", f"Activity {activity_id} was not found.")
    return activity


def _flags_context(user: User) -> dict[str, bool]:
    return {name: evaluate(name, user=user)[0] for name in sorted(current_snapshot().flags)}


def feedback_submit(
    *,
    user: User,
    type: str,
    message: str,
    category: str = "",
    rating: int | None = None,
    activity_id: int | None = None,
    plan_id: int | None = None,
    app_version: str = "",
    variants: dict[str, str] | None = None,
    now: datetime | None = None,
    queue_triage: bool = True,
) -> tuple[Feedback, bool]:
    """Store feedback and queue its triage. Returns (feedback, duplicate): the same message from the same user
    within FEEDBACK_DUPLICATE_WINDOW_SECONDS collapses into the earlier item. ``queue_triage=False`` is for callers
    that triage inline (demo data)."""
    now = now or timezone.now()
    if type not in FeedbackType.values:
        raise ServiceError("invalid_type", f"type must be one of {', '.join(FeedbackType.values)}.")
    message = (message or "").strip()
    if not message:
        raise ServiceError("message_required", "message must not be empty.")
    if len(message) > _max_message():
        raise ServiceError(
            "message_too_long",
            f"message is {len(message)} characters; the limit is {_max_message()}.",
            status=413 if len(message) > 10 * _max_message() else 400,
        )
    if category and category not in Category.values:
        raise ServiceError("invalid_category", f"category must be one of {', '.join(Category.values)}.")
    if rating is not None and not (isinstance(rating, int) and 1 <= rating <= 5):
        raise ServiceError("invalid_rating", "rating must be an integer from 1 to 5.")
    if type == FeedbackType.SATISFACTION_SURVEY and rating is None:
        raise ServiceError("rating_required", "a satisfaction survey needs a rating from 1 to 5.")
    activity = _activity_for(user, activity_id)
    fingerprint = message_fingerprint(type, message)
    window = timedelta(seconds=int(getattr(settings, "FEEDBACK_DUPLICATE_WINDOW_SECONDS", 600)))
    with transaction.atomic():
        # serialise this user's submissions: two identical requests at once must collapse, not both insert
        User.objects.select_for_update().filter(pk=user.pk).first()
        earlier = (
            Feedback.objects.select_for_update()
            .filter(user=user, message_hash=fingerprint, created_at__gte=now - window)
            .order_by("-created_at")
            .first()
        )
        if earlier is not None:
            Feedback.objects.filter(pk=earlier.pk).update(duplicate_count=F("duplicate_count") + 1)
            earlier.refresh_from_db()
            return earlier, True
        context = {
            "flags": _flags_context(user),
            "variants": variants or {},
            "app_version": app_version[:64],
            "activity_id": activity.pk if activity else None,
            "plan_id": plan_id,
        }
        feedback = Feedback.objects.create(
            user=user,
            type=type,
            category=category,
            category_source="user" if category else "auto",
            rating=rating,
            message=message,
            message_hash=fingerprint,
            context=context,
            activity=activity,
            week=rollup.week_start(now.astimezone(UTC).date()),
            created_at=now,
            ack_due_at=now + ACK_TARGET,
        )
        rollup.move(feedback, None, rollup.keys(feedback))
        if queue_triage:
            job_enqueue(kind="feedback.triage", params={"feedback_id": feedback.pk}, created_by=user)
    return feedback, False


def _routing(category: str) -> RoutingRule | None:
    return RoutingRule.objects.select_related("team", "assignee").filter(category=category).first()


@transaction.atomic
def feedback_triage(*, feedback_id: int, now: datetime | None = None) -> Feedback:
    """Classify one item (idempotent). Fields with an ops override keep the override."""
    now = now or timezone.now()
    feedback = Feedback.objects.select_for_update().get(pk=feedback_id)
    counted = rollup.keys(feedback)
    since = feedback.created_at - timedelta(hours=24)  # the 24 h before the item, whenever it is triaged
    accuracy_reports = Feedback.objects.filter(
        category="accuracy", created_at__gte=since, created_at__lte=feedback.created_at
    ).exclude(pk=feedback.pk)
    result = triage(
        TriageInput(
            type=feedback.type,
            category=feedback.category if feedback.category_source in ("user", "override") else "",
            message=feedback.message,
            rating=feedback.rating,
            accuracy_reports_24h=accuracy_reports.count(),
        )
    )
    overrides = feedback.overrides or {}
    if "sentiment" not in overrides:
        feedback.sentiment = result.sentiment
    feedback.sentiment_score = result.sentiment_score
    if "priority" not in overrides:
        feedback.priority, feedback.priority_rule = result.priority, result.priority_rule
    if "category" not in overrides and feedback.category_source != "user":
        feedback.category, feedback.category_source = result.category, "auto"
    feedback.category_rule = result.category_rule if "category" not in overrides else "override"
    feedback.keywords, feedback.topic = list(result.keywords), result.topic
    feedback.triaged_at = now
    if feedback.team_id is None:
        route = _routing(feedback.category)
        if route is not None:
            feedback.team = route.team
            if feedback.assignee_id is None:
                feedback.assignee = route.assignee
    team_name = Team.objects.filter(pk=feedback.team_id).values_list("name", flat=True).first()
    feedback.acknowledgement = acknowledgement_for(feedback.type, feedback.priority, team_name)
    if feedback.status == Status.NEW:
        feedback.status = Status.TRIAGED
    feedback.save()
    rollup.move(feedback, counted, rollup.keys(feedback))
    return feedback


@job_handler("feedback.triage", internal=True)
def _triage_job(job: Job, ctx: JobContext) -> dict[str, Any]:
    feedback = feedback_triage(feedback_id=int(job.params["feedback_id"]))
    return {"priority": feedback.priority, "sentiment": feedback.sentiment, "category": feedback.category}


def _change(feedback: Feedback, field: str, before: Any, after: Any, actor: User | None, note: str = "") -> None:
    FeedbackChange.objects.create(
        feedback=feedback,
        field=field,
        before=str(before or "")[:200],
        after=str(after or "")[:200],
        actor=actor,
        note=note,
    )


def _acknowledge(feedback: Feedback, actor: User | None, now: datetime) -> None:
    if feedback.acknowledged_at is None and actor is not None and is_staff_user(actor):
        feedback.acknowledged_at = now


def _locked(feedback_id: int) -> Feedback:
    try:
        return Feedback.objects.select_for_update().get(pk=feedback_id)
    except Feedback.DoesNotExist as exc:
        raise NotFoundError("feedback_not_found", f"Feedback {feedback_id} was not found.") from exc


@transaction.atomic
def feedback_override(*, feedback_id: int, field: str, value: str, actor: User, note: str = "") -> Feedback:
    """Set priority, sentiment or category by hand; re-triage will not change it again."""
    if field not in OVERRIDABLE:
        raise ServiceError("invalid_override", f"field must be one of {', '.join(OVERRIDABLE)}.")
    if value not in OVERRIDABLE[field]:
        raise ServiceError("invalid_override", f"{field} must be one of {', '.join(OVERRIDABLE[field])}.")
    feedback = _locked(feedback_id)
    counted = rollup.keys(feedback)
    now = timezone.now()
    before = getattr(feedback, field)
    setattr(feedback, field, value)
    if field == "priority":
        feedback.priority_rule = "override"
    if field == "category":
        feedback.category_source, feedback.category_rule = "override", "override"
    feedback.overrides = {**(feedback.overrides or {}), field: {"value": value, "by": actor.pk, "at": now.isoformat()}}
    _acknowledge(feedback, actor, now)
    feedback.save()
    rollup.move(feedback, counted, rollup.keys(feedback))
    _change(feedback, field, before, value, actor, note or "override")
    return feedback


@transaction.atomic
def feedback_set_status(*, feedback_id: int, status: str, actor: User, note: str = "") -> Feedback:
    if status not in Status.values:
        raise ServiceError("invalid_status", f"status must be one of {', '.join(Status.values)}.")
    feedback = _locked(feedback_id)
    if status == feedback.status:
        return feedback
    if status not in TRANSITIONS[feedback.status]:
        raise ConflictError("invalid_transition", f"Feedback cannot go from {feedback.status} to {status}.")
    counted = rollup.keys(feedback)
    now = timezone.now()
    before = feedback.status
    feedback.status = status
    if status == Status.RESOLVED:
        feedback.resolved_at = now
    if status == Status.CLOSED:
        feedback.closed_at = now
    if status == Status.IN_PROGRESS:
        feedback.resolved_at = feedback.closed_at = None
    _acknowledge(feedback, actor, now)
    feedback.save()
    rollup.move(feedback, counted, rollup.keys(feedback))
    _change(feedback, "status", before, status, actor, note)
    return feedback


@transaction.atomic
def feedback_assign(*, feedback_id: int, assignee: User | None, actor: User, note: str = "") -> Feedback:
    feedback = _locked(feedback_id)
    if assignee is not None and not is_staff_user(assignee):
        raise ServiceError("invalid_assignee", f"{assignee.username} is not staff.")
    counted = rollup.keys(feedback)
    before = feedback.assignee.username if feedback.assignee else ""
    feedback.assignee = assignee
    _acknowledge(feedback, actor, timezone.now())
    feedback.save()
    rollup.move(feedback, counted, rollup.keys(feedback))
    _change(feedback, "assignee", before, assignee.username if assignee else "", actor, note)
    return feedback


def accuracy_validation_create(
    *,
    user: User,
    activity_id: int,
    source: str,
    external_value: float,
    note: str = "",
    variants: dict[str, str] | None = None,
) -> AccuracyValidation:
    """Compare our TRIMP for the activity (as it is now) with an external value; feeds the accuracy metric."""
    if source not in ExternalSource.values:
        raise ServiceError("invalid_source", f"source must be one of {', '.join(ExternalSource.values)}.")
    if not (
        isinstance(external_value, int | float) and EXTERNAL_VALUE_MIN <= float(external_value) <= EXTERNAL_VALUE_MAX
    ):
        message = f"external_value must be a number from {EXTERNAL_VALUE_MIN:g} to {EXTERNAL_VALUE_MAX:g}."
        raise ServiceError("invalid_value", message)
    activity = _activity_for(user, activity_id)
    if activity.trimp is None or not activity.trimp_calculation_method:
        raise ConflictError("activity_not_scored", f"Activity {activity_id} has no TRIMP yet.")
    ours = float(activity.trimp)
    difference = (ours - float(external_value)) / float(external_value)
    within = abs(difference) <= 0.05
    validation = AccuracyValidation.objects.create(
        user=user,
        activity=activity,
        source=source,
        external_value=float(external_value),
        our_value=ours,
        our_method=activity.trimp_calculation_method,
        relative_difference=difference,
        within_5pct=within,
        note=note[:500],
    )
    record("trimp.accuracy_within_5pct", 1.0 if within else 0.0, method=validation.our_method, source=source)
    return validation

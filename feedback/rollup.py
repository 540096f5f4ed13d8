"""Daily counts by dimension, maintained on every write that changes a counted field (and rebuildable).

``keys(feedback)`` says which (dimension, value) pairs an item counts under; a service takes ``keys`` before
and after its change and calls ``move``. ``rebuild`` recomputes everything from the items (nightly, and after
bulk loads), so drift from a bypassed path heals itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum

from feedback.models import DailyCount, Feedback

PROBLEM_TYPES = ("bug_report", "performance_issue", "usability_issue")
DIMENSIONS = ("type", "category", "status", "priority", "sentiment")

Key = tuple[str, str]


def keys(feedback: Any) -> set[Key]:
    found: set[Key] = {("all", "")}
    for dimension in DIMENSIONS:
        found.add((dimension, getattr(feedback, dimension) or ""))
    if feedback.topic and (feedback.sentiment == "negative" or feedback.type in PROBLEM_TYPES):
        found.add(("topic", feedback.topic))
    if feedback.acknowledged_at is not None and feedback.acknowledged_at > feedback.ack_due_at:
        found.add(("sla", "late"))
    return found


def day_of(feedback: Any) -> date:
    """The UTC day the item was submitted (what ``created_at__date`` means with TIME_ZONE = UTC)."""
    return feedback.created_at.astimezone(UTC).date()


def week_start(day: date) -> date:
    """The Monday of ``day``'s week (the summary's weekly trend)."""
    return day - timedelta(days=day.weekday())


def _bump(day: date, key: Key, delta: int, rating: int | None) -> None:
    dimension, value = key
    changes = {"count": F("count") + delta}
    if rating is not None:
        changes.update(rating_n=F("rating_n") + delta, rating_sum=F("rating_sum") + delta * rating)
    if DailyCount.objects.filter(day=day, dimension=dimension, value=value).update(**changes):
        return
    try:
        with transaction.atomic():
            DailyCount.objects.create(
                day=day,
                dimension=dimension,
                value=value,
                count=delta,
                rating_n=delta if rating is not None else 0,
                rating_sum=delta * rating if rating is not None else 0,
            )
    except IntegrityError:  # created concurrently: add to it
        DailyCount.objects.filter(day=day, dimension=dimension, value=value).update(**changes)


def move(feedback: Any, before: Iterable[Key] | None, after: Iterable[Key] | None) -> None:
    """Apply the difference between the item's keys before and after a change (None = not counted)."""
    old, new = set(before or ()), set(after or ())
    day = day_of(feedback)
    for key in sorted(old - new):
        _bump(day, key, -1, feedback.rating)
    for key in sorted(new - old):
        _bump(day, key, +1, feedback.rating)


@transaction.atomic
def rebuild(feedback_model: Any = None, count_model: Any = None) -> int:
    """Recompute every daily count from the items; return the number of rows written."""
    if feedback_model is None or count_model is None:
        feedback_model, count_model = Feedback, DailyCount
    items = feedback_model.objects.all()
    rows: list[Any] = []

    def add(queryset: Any, dimension: str, field: str | None) -> None:
        values = ["created_at__date", field] if field else ["created_at__date"]
        for row in queryset.values(*values).annotate(n=Count("id"), rn=Count("rating"), rs=Sum("rating")):
            rows.append(
                count_model(
                    day=row["created_at__date"],
                    dimension=dimension,
                    value=(row[field] or "") if field else "",
                    count=row["n"],
                    rating_n=row["rn"],
                    rating_sum=row["rs"] or 0,
                )
            )

    add(items, "all", None)
    for dimension in DIMENSIONS:
        add(items, dimension, dimension)
    add(items.exclude(topic="").filter(Q(sentiment="negative") | Q(type__in=PROBLEM_TYPES)), "topic", "topic")
    late_start = len(rows)
    add(items.filter(acknowledged_at__isnull=False, acknowledged_at__gt=F("ack_due_at")), "sla", None)
    for row in rows[late_start:]:
        row.value = "late"
    count_model.objects.all().delete()
    count_model.objects.bulk_create(rows, batch_size=5000)
    return len(rows)

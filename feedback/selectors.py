"""The feedback summary: aggregated in SQL (two scans of the feedback table, one of the validations)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from core.errors import ServiceError
from feedback.models import AccuracyValidation, DailyCount, Feedback
from feedback.rollup import PROBLEM_TYPES, week_start

SAFE_KEY = re.compile(r"^(?!.*__)[A-Za-z0-9_.-]{1,100}$")
SAFE_VARIANT = re.compile(r"^(?!.*__)[A-Za-z0-9_.-]{1,100}:[A-Za-z0-9_.-]{1,64}$")


def filtered(
    *, date_from: date | None = None, date_to: date | None = None, flag: str | None = None, variant: str | None = None
) -> QuerySet[Feedback]:
    """Feedback in [date_from, date_to] (UTC days), optionally of users who had ``flag`` on, or were in
    ``variant`` (``experiment:variant``) when they wrote it."""
    return _in_context(_in_days(Feedback.objects.all(), date_from, date_to), flag, variant)


def _in_days(queryset: QuerySet[Any], date_from: date | None, date_to: date | None) -> QuerySet[Any]:
    if date_from:
        queryset = queryset.filter(created_at__date__gte=date_from)
    if date_to:
        queryset = queryset.filter(created_at__date__lte=date_to)
    return queryset


def _in_context(queryset: QuerySet[Any], flag: str | None, variant: str | None) -> QuerySet[Any]:
    """Rows whose ``context`` says the flag was on / the user was in the variant. The names become JSON key
    lookups, so they are checked here: no ``__`` that would turn into an ORM lookup."""
    if (flag and not SAFE_KEY.match(flag)) or (variant and not SAFE_VARIANT.match(variant)):
        raise ServiceError("validation_error", "flag and variant names are letters, digits, '.', '-' and single '_'.")
    if flag:
        queryset = queryset.filter(**{f"context__flags__{flag}": True})
    if variant:
        experiment, _, name = variant.partition(":")
        queryset = queryset.filter(**{f"context__variants__{experiment}": name})
    return queryset


def _breach_q(now: datetime) -> Q:
    return Q(acknowledged_at__isnull=True, ack_due_at__lt=now) | Q(acknowledged_at__gt=F("ack_due_at"))


def feedback_summary(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    flag: str | None = None,
    variant: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Counts, satisfaction, sentiment, top issues, accuracy and SLA. Without a flag/variant filter the counts come
    from the daily rollup (a few thousand rows whatever the volume); with one, from the items themselves."""
    now = now or timezone.now()
    queryset = filtered(date_from=date_from, date_to=date_to, flag=flag, variant=variant)
    use_items = bool(flag or variant)
    counts = _counts_from_items(queryset, now) if use_items else _counts_from_rollup(date_from, date_to, now)
    open_breaches = (
        queryset.filter(acknowledged_at__isnull=True, ack_due_at__lt=now)
        .exclude(status__in=["resolved", "closed"])
        .order_by("ack_due_at")
        .values("id", "type", "priority", "created_at", "ack_due_at")[:20]
    )
    by_week = counts.pop("by_week")
    rated, rating_sum = counts.pop("rated"), counts.pop("rating_sum")
    breaches = counts.pop("breaches")
    return {
        **counts,
        "satisfaction": {
            "mean": rating_sum / rated if rated else None,
            "ratings": rated,
            "by_week": [
                {"week": week, "mean": sums[1] / sums[0], "ratings": sums[0]} for week, sums in sorted(by_week.items())
            ],
        },
        "accuracy": accuracy_summary(date_from=date_from, date_to=date_to, flag=flag, variant=variant),
        "sla": {"target_hours": 24, "breaches": breaches, "open_breaches": list(open_breaches)},
    }


def _counts_from_rollup(date_from: date | None, date_to: date | None, now: datetime) -> dict[str, Any]:
    rows = DailyCount.objects.all()
    if date_from:
        rows = rows.filter(day__gte=date_from)
    if date_to:
        rows = rows.filter(day__lte=date_to)
    by: dict[str, dict[str, int]] = {d: {} for d in ("type", "category", "status", "priority", "sentiment", "topic")}
    total = rated = rating_sum = late = 0
    for row in rows.values("dimension", "value").annotate(n=Sum("count"), rn=Sum("rating_n"), rs=Sum("rating_sum")):
        if not row["n"]:
            continue
        if row["dimension"] == "all":
            total, rated, rating_sum = row["n"], row["rn"], row["rs"]
        elif row["dimension"] == "sla":
            late = row["n"]
        else:
            by[row["dimension"]][row["value"] or "untriaged"] = row["n"]
    by_week: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, n, total_rating in rows.filter(dimension="all", rating_n__gt=0).values_list(
        "day", "rating_n", "rating_sum"
    ):
        by_week[week_start(day)][0] += n
        by_week[week_start(day)][1] += total_rating
    unacknowledged = filtered(date_from=date_from, date_to=date_to).filter(
        acknowledged_at__isnull=True, ack_due_at__lt=now
    )
    topics = sorted(by.pop("topic").items(), key=lambda item: (-item[1], item[0]))[:10]
    return {
        "total": total,
        "by_type": by["type"],
        "by_category": by["category"],
        "by_status": by["status"],
        "by_priority": by["priority"],
        "sentiment": by["sentiment"],
        "top_issues": [{"topic": topic, "count": n} for topic, n in topics],
        "by_week": by_week,
        "rated": rated,
        "rating_sum": rating_sum,
        "breaches": late + unacknowledged.count(),
    }


def _counts_from_items(queryset: QuerySet[Feedback], now: datetime) -> dict[str, Any]:
    by: dict[str, dict[str, int]] = {
        d: defaultdict(int) for d in ("type", "category", "status", "priority", "sentiment")
    }
    by_week: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    total = rated = rating_sum = breaches = 0
    # two hash aggregates rather than one over (dimensions × week), which spills to disk at 1M rows
    rows = queryset.values("type", "category", "status", "priority", "sentiment").annotate(
        n=Count("id"), rating_n=Count("rating"), rating_sum=Sum("rating"), breached=Count("id", filter=_breach_q(now))
    )
    for row in rows:
        total += row["n"]
        for dimension in by:
            by[dimension][row[dimension] or "untriaged"] += row["n"]
        rated += row["rating_n"]
        rating_sum += row["rating_sum"] or 0
        breaches += row["breached"]
    for row in queryset.filter(rating__isnull=False).values("week").annotate(n=Count("id"), s=Sum("rating")):
        by_week[row["week"]] = [row["n"], row["s"]]
    topics = (
        queryset.filter(Q(sentiment="negative") | Q(type__in=PROBLEM_TYPES))
        .exclude(topic="")
        .values("topic")
        .annotate(n=Count("id"))
        .order_by("-n", "topic")[:10]
    )
    return {
        "total": total,
        **{f"by_{d}": dict(by[d]) for d in ("type", "category", "status", "priority")},
        "sentiment": dict(by["sentiment"]),
        "top_issues": [{"topic": t["topic"], "count": t["n"]} for t in topics],
        "by_week": by_week,
        "rated": rated,
        "rating_sum": rating_sum,
        "breaches": breaches,
    }


def accuracy_summary(
    *, date_from: date | None = None, date_to: date | None = None, flag: str | None = None, variant: str | None = None
) -> dict[str, Any]:
    queryset = _in_context(_in_days(AccuracyValidation.objects.all(), date_from, date_to), flag, variant)
    rows = queryset.values("our_method", "source").annotate(
        n=Count("id"), within=Count("id", filter=Q(within_5pct=True))
    )
    by_method: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    total = [0, 0]
    for row in rows:
        for bucket in (by_method[row["our_method"]], by_source[row["source"]], total):
            bucket[0] += row["n"]
            bucket[1] += row["within"]

    def share(pair: list[int]) -> dict[str, Any]:
        return {"validations": pair[0], "within_5pct": pair[1], "share": pair[1] / pair[0] if pair[0] else None}

    return {
        "overall": share(total),
        "by_method": {k: share(v) for k, v in sorted(by_method.items())},
        "by_source": {k: share(v) for k, v in sorted(by_source.items())},
    }

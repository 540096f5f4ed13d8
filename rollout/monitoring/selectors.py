"""Reads for the monitoring dashboard, the alerts API, the admin page and the performance report."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from rollout.models import Incident
from rollout.monitoring.aggregate import Stats, aggregate_value, tags_match
from rollout.monitoring.models import Alert, AlertRule, MetricMinute, RuleState


def alert_dict(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "rule": alert.rule.name,
        "metric": alert.rule.metric,
        "tags": alert.tags,
        "status": alert.status,
        "severity": alert.severity,
        "peak_severity": alert.peak_severity,
        "value": alert.value,
        "threshold": alert.threshold,
        "opened_at": alert.opened_at,
        "last_breach_at": alert.last_breach_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by.username if alert.acknowledged_by else None,
        "resolved_at": alert.resolved_at,
        "evaluations": alert.evaluations,
    }


def alerts_list(*, status: str | None = None, severity: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    queryset = Alert.objects.select_related("rule", "acknowledged_by").order_by("-opened_at")
    if status:
        queryset = queryset.filter(status=status)
    if severity:
        queryset = queryset.filter(severity=severity)
    return [alert_dict(a) for a in queryset[:limit]]


def rule_states() -> list[dict[str, Any]]:
    states: dict[int, list[RuleState]] = defaultdict(list)
    for state in RuleState.objects.order_by("tags_key"):
        states[state.rule_id].append(state)
    return [
        {
            "id": rule.pk,
            "name": rule.name,
            "metric": rule.metric,
            "aggregation": rule.aggregation,
            "operator": rule.get_operator_display(),
            "thresholds": {"warning": rule.warning, "error": rule.error, "critical": rule.critical},
            "window_minutes": rule.window_minutes,
            "enabled": rule.enabled,
            "last_evaluated_at": rule.last_evaluated_at,
            "states": [
                {
                    "tags": s.tags,
                    "state": s.state,
                    "value": s.value,
                    "samples": s.samples,
                    "consecutive_critical": s.consecutive_critical,
                    "evaluated_at": s.evaluated_at,
                }
                for s in states.get(rule.pk, [])
            ],
        }
        for rule in AlertRule.objects.order_by("name")
    ]


def metric_series(metric: str, *, minutes: int = 60, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per minute over the last ``minutes``: count, sum, mean and p95 across all tag sets of ``metric``."""
    now = now or timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    per_minute: dict[datetime, Stats] = {}
    for minute, count, total, total_sq, lo, hi, buckets in MetricMinute.objects.filter(
        metric=metric, minute__gte=start, minute__lte=now
    ).values_list("minute", "count", "sum", "sum_sq", "min", "max", "buckets"):
        per_minute.setdefault(minute, Stats()).add_row(count, total, total_sq, lo, hi, buckets)
    series = []
    for offset in range(minutes):
        minute = start + timedelta(minutes=offset)
        stats = per_minute.get(minute)
        series.append(
            {
                "minute": minute,
                "count": stats.count if stats else 0,
                "sum": stats.sum if stats else 0.0,
                "mean": stats.mean if stats else None,
                "p95": stats.quantile(95) if stats else None,
            }
        )
    return series


def _per_minute(metric: str, wanted: dict[str, Any], start: datetime, now: datetime) -> dict[datetime, Stats]:
    per_minute: dict[datetime, Stats] = {}
    for minute, tags, count, total, total_sq, lo, hi, buckets in MetricMinute.objects.filter(
        metric=metric, minute__gte=start, minute__lte=now
    ).values_list("minute", "tags", "count", "sum", "sum_sq", "min", "max", "buckets"):
        if tags_match(tags or {}, wanted):
            per_minute.setdefault(minute, Stats()).add_row(count, total, total_sq, lo, hi, buckets)
    return per_minute


def rule_series(rule: AlertRule, *, minutes: int = 60, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per minute over the last ``minutes``: the rule's own aggregation (its tags, every group merged) computed
    over that minute alone, and the samples it saw — what its threshold lines are compared with on a chart.
    ``value`` is None in a minute without samples."""
    now = now or timezone.now()
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    numerators = _per_minute(rule.metric, rule.tags or {}, start, now)
    ratio = rule.aggregation == AlertRule.Aggregation.RATIO
    denominators = _per_minute(rule.denominator_metric, rule.denominator_tags or {}, start, now) if ratio else {}
    series = []
    for offset in range(minutes):
        minute = start + timedelta(minutes=offset)
        stats = numerators.get(minute, Stats())
        denominator = denominators.get(minute) if ratio else None
        samples = denominator.count if denominator is not None else stats.count
        value = aggregate_value(rule.aggregation, stats, window_minutes=1, denominator=denominator) if samples else None
        series.append({"minute": minute, "value": value, "samples": samples})
    return series


def incidents_recent(limit: int = 20) -> list[dict[str, Any]]:
    return [
        {
            "id": i.pk,
            "rollout": i.rollout.flag.name,
            "alert_id": i.alert_id,
            "action": i.action,
            "transition_id": i.transition_id,
            "summary": i.summary,
            "created_at": i.created_at,
        }
        for i in Incident.objects.select_related("rollout__flag").order_by("-created_at")[:limit]
    ]


def dashboard(*, minutes: int = 60) -> dict[str, Any]:
    metrics = sorted(set(AlertRule.objects.filter(enabled=True).values_list("metric", flat=True)))
    return {
        "generated_at": timezone.now(),
        "open_alerts": [
            alert_dict(a)
            for a in Alert.objects.filter(status__in=["open", "acknowledged"]).select_related("rule", "acknowledged_by")
        ],
        "rules": rule_states(),
        "series": {metric: metric_series(metric, minutes=minutes) for metric in metrics},
        "incidents": incidents_recent(),
    }


def report(*, since: datetime) -> dict[str, Any]:
    """What fired most and which metrics trend worse, for the performance report."""
    fired = list(
        Alert.objects.filter(opened_at__gte=since)
        .values("rule__name", "severity")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    half = since + (timezone.now() - since) / 2
    trends = []
    for rule in AlertRule.objects.filter(enabled=True).order_by("name"):
        halves = []
        for start, end in ((since, half), (half, timezone.now())):
            stats = Stats()
            for count, total, total_sq, lo, hi, buckets in MetricMinute.objects.filter(
                metric=rule.metric, minute__gte=start, minute__lt=end
            ).values_list("count", "sum", "sum_sq", "min", "max", "buckets"):
                stats.add_row(count, total, total_sq, lo, hi, buckets)
            halves.append(stats)
        if not (halves[0].count and halves[1].count):
            continue
        if rule.aggregation in ("p50", "p95", "p99"):
            q = float(rule.aggregation[1:])
            before, after = halves[0].quantile(q), halves[1].quantile(q)
            label = rule.aggregation
        else:
            before, after, label = halves[0].mean, halves[1].mean, "mean"
        if before is None or after is None:
            continue
        worse = after > before if rule.operator in ("gt", "gte") else after < before
        change = (after - before) / abs(before) if before else 0.0
        trends.append(
            {
                "rule": rule.name,
                "metric": rule.metric,
                "statistic": label,
                "before": before,
                "after": after,
                "change": change,
                "worse": worse,
            }
        )
    return {"since": since, "fired": fired, "trends": trends}

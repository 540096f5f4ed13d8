"""Evaluate every due rule over its window of per-minute aggregates; open, update and resolve alerts;
then run the hooks registered with ``register_after_evaluation`` (the rollout guards) inside the same lease.
One run at a time (a lease row), cheap (one query per metric), idempotent."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from rollout.monitoring.aggregate import Stats, aggregate_value, group_key, severity, tags_match
from rollout.monitoring.alerts import alert_auto_resolve, alert_open_or_update
from rollout.monitoring.models import Alert, AlertRule, EvaluationLease, MetricMinute, RuleState

logger = logging.getLogger(__name__)
_RELEASED = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class EvaluationReport:
    evaluated_rules: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    resolved: int = 0
    incidents: list[int] = field(default_factory=list)
    skipped: bool = False


Group = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Verdict:
    """A rule's answer for one tag group in one evaluation.

    ``level`` is ok / warning / error / critical / no_data (too few samples or no value); ``value`` is in the
    metric's unit (a ratio 0–1 for ratio rules); ``threshold`` is the crossed one (None unless breaching);
    ``group`` is None for a tag set that had no data in this window.
    """

    group: Group | None
    key: str
    value: float | None
    samples: int
    level: str
    threshold: float | None


# name → hook(now) returning the ids of the incidents it recorded; run after every evaluation, in the lease
AfterEvaluation = Callable[[datetime], list[int]]
_AFTER_EVALUATION: dict[str, AfterEvaluation] = {}


def register_after_evaluation(name: str, hook: AfterEvaluation) -> None:
    """Let a higher layer (rollout's guards) react to fresh verdicts without monitoring importing it."""
    _AFTER_EVALUATION[name] = hook


@contextmanager
def lease(name: str, *, seconds: int = 55, now: datetime | None = None) -> Iterator[bool]:
    """Hold the named lease (True) unless another runner holds it (False)."""
    now = now or timezone.now()
    holder = f"{socket.gethostname()}:{os.getpid()}"
    EvaluationLease.objects.get_or_create(name=name, defaults={"held_until": _RELEASED})
    acquired = EvaluationLease.objects.filter(name=name, held_until__lt=now).update(
        held_until=now + timedelta(seconds=seconds), holder=holder
    )
    try:
        yield bool(acquired)
    finally:
        if acquired:
            EvaluationLease.objects.filter(name=name, holder=holder).update(held_until=_RELEASED)


def _window_start(now: datetime, minutes: int) -> datetime:
    return now.replace(second=0, microsecond=0) - timedelta(minutes=max(minutes, 1) - 1)


class _Window:
    """Per-tag-set Stats of one metric over one window, aggregated in SQL (histograms merged only if needed)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, datetime, bool], list[tuple[dict[str, str], Stats]]] = {}

    def get(self, metric: str, start: datetime, now: datetime, *, buckets: bool) -> list[tuple[dict[str, str], Stats]]:
        key = (metric, start, buckets)
        if key not in self.cache:
            rows = MetricMinute.objects.filter(metric=metric, minute__gte=start, minute__lte=now)
            per_tags: dict[str, tuple[dict[str, str], Stats]] = {}
            if buckets:
                for tags_key, tags, count, total, total_sq, lo, hi, hist in rows.values_list(
                    "tags_key", "tags", "count", "sum", "sum_sq", "min", "max", "buckets"
                ):
                    per_tags.setdefault(tags_key, (tags, Stats()))[1].add_row(count, total, total_sq, lo, hi, hist)
            else:
                aggregated = list(
                    rows.values("tags_key").annotate(
                        n=Sum("count"), s=Sum("sum"), sq=Sum("sum_sq"), lo=Min("min"), hi=Max("max"), one=Max("id")
                    )
                )
                tags_by_id = dict(
                    MetricMinute.objects.filter(pk__in=[r["one"] for r in aggregated]).values_list("pk", "tags")
                )
                for row in aggregated:
                    stats = Stats()
                    stats.add_row(row["n"], row["s"], row["sq"], row["lo"], row["hi"], {})
                    per_tags[row["tags_key"]] = (tags_by_id.get(row["one"], {}), stats)
            self.cache[key] = list(per_tags.values())
        return self.cache[key]


def _grouped(
    entries: list[tuple[dict[str, str], Stats]], wanted: dict[str, Any], group_by: list[str]
) -> dict[tuple[tuple[str, str], ...], Stats]:
    groups: dict[tuple[tuple[str, str], ...], Stats] = {}
    for tags, stats in entries:
        if not tags_match(tags, wanted):
            continue
        target = groups.setdefault(group_key(tags, group_by), Stats())
        target.add_row(stats.count, stats.sum, stats.sum_sq, stats.min, stats.max, stats.buckets)
    return groups


def _key(group: tuple[tuple[str, str], ...]) -> str:
    return ",".join(f"{k}={v}" for k, v in group)


def evaluate_rule(rule: AlertRule, window: _Window, now: datetime) -> list[Verdict]:
    """Per tag group: value, samples and level (ok / warning / error / critical / no_data). Pure read."""
    start = _window_start(now, rule.window_minutes)
    needs_buckets = rule.aggregation in ("p50", "p95", "p99")
    entries = window.get(rule.metric, start, now, buckets=needs_buckets)
    numerators = _grouped(entries, rule.tags or {}, rule.group_by or [])
    denominators: dict[tuple[tuple[str, str], ...], Stats] = {}
    if rule.aggregation == AlertRule.Aggregation.RATIO:
        denominator_entries = window.get(rule.denominator_metric, start, now, buckets=False)
        denominators = _grouped(denominator_entries, rule.denominator_tags or {}, rule.group_by or [])
    verdicts: list[Verdict] = []
    for group in sorted(set(numerators) | set(denominators)):
        stats = numerators.get(group, Stats())
        denominator = denominators.get(group) if rule.aggregation == AlertRule.Aggregation.RATIO else None
        samples = denominator.count if denominator is not None else stats.count
        value = aggregate_value(rule.aggregation, stats, window_minutes=rule.window_minutes, denominator=denominator)
        if value is None or samples < rule.min_samples:
            level, threshold = "no_data", None
        else:
            level, threshold = severity(
                value, rule.operator, warning=rule.warning, error=rule.error, critical=rule.critical
            )
        verdicts.append(
            Verdict(group=group, key=_key(group), value=value, samples=samples, level=level, threshold=threshold)
        )
    return verdicts


@transaction.atomic
def _apply_all(
    rules: list[AlertRule], verdicts_by_rule: dict[int, list[Verdict]], now: datetime, report: EvaluationReport
) -> None:
    """Write every verdict: RuleStates in bulk; alerts only where something opens, changes or resolves."""
    rule_ids = [rule.pk for rule in rules]
    states = {(s.rule_id, s.tags_key): s for s in RuleState.objects.filter(rule_id__in=rule_ids)}
    unresolved_alerts = Alert.objects.filter(rule_id__in=rule_ids, status__in=["open", "acknowledged"])
    unresolved = set(unresolved_alerts.values_list("rule_id", "tags_key"))
    created: list[RuleState] = []
    changed: list[RuleState] = []
    for rule in rules:
        verdicts = verdicts_by_rule[rule.pk]
        seen = {v.key for v in verdicts}
        # tag sets with a live state or an unresolved alert but no data in this window count as no_data
        stale = {k for (rid, k), st in states.items() if rid == rule.pk and st.state != "no_data"}
        stale |= {k for rid, k in unresolved if rid == rule.pk}
        verdicts = verdicts + [
            Verdict(group=None, key=key, value=None, samples=0, level="no_data", threshold=None)
            for key in sorted(stale - seen)
        ]
        for verdict in verdicts:
            key, level = verdict.key, verdict.level
            tags = dict(verdict.group) if verdict.group is not None else {}
            state = states.get((rule.pk, key))
            if state is None:
                state = RuleState(rule=rule, tags_key=key, tags=tags)
                created.append(state)
            else:
                changed.append(state)
            state.value, state.samples, state.evaluated_at = verdict.value, verdict.samples, now
            state.consecutive_critical = state.consecutive_critical + 1 if level == "critical" else 0
            if level in ("warning", "error", "critical"):
                assert verdict.value is not None and verdict.threshold is not None  # a breach has both
                state.ok_since = None
                alert_open_or_update(
                    rule=rule,
                    tags_key=key,
                    tags=tags or state.tags,
                    level=level,
                    value=verdict.value,
                    threshold=verdict.threshold,
                    now=now,
                )
                report.opened += 0 if (rule.pk, key) in unresolved else 1
            else:
                if state.ok_since is None:
                    state.ok_since = now
                recovered = now - state.ok_since >= timedelta(minutes=rule.recovery_minutes)
                if recovered and (rule.pk, key) in unresolved and alert_auto_resolve(rule=rule, tags_key=key, now=now):
                    report.resolved += 1
            state.state = level
            report.verdicts[level] = report.verdicts.get(level, 0) + 1
    RuleState.objects.bulk_create(created)
    RuleState.objects.bulk_update(
        changed, ["value", "samples", "evaluated_at", "consecutive_critical", "ok_since", "state"], batch_size=500
    )


def rules_evaluate(*, now: datetime | None = None, force: bool = False) -> EvaluationReport:
    """Evaluate the rules that are due (all with ``force``), then run the guards. Holds the evaluation lease."""
    now = now or timezone.now()
    report = EvaluationReport()
    with lease("rules", now=now) as acquired:
        if not acquired:
            report.skipped = True
            return report
        rules = list(AlertRule.objects.filter(enabled=True).prefetch_related("channels"))
        due = [
            rule
            for rule in rules
            if force
            or rule.last_evaluated_at is None
            or (now - rule.last_evaluated_at).total_seconds() >= rule.interval_seconds - 1
        ]
        window = _Window()
        _apply_all(due, {rule.pk: evaluate_rule(rule, window, now) for rule in due}, now, report)
        AlertRule.objects.filter(pk__in=[rule.pk for rule in due]).update(last_evaluated_at=now)
        report.evaluated_rules = len(due)
        for _name, hook in sorted(_AFTER_EVALUATION.items()):
            report.incidents.extend(hook(now))
    return report

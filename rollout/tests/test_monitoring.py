"""Recording, rule evaluation and the alert life cycle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from rollout.monitoring import flush, increment, record, record_at, timer
from rollout.monitoring.evaluation import lease, rules_evaluate
from rollout.monitoring.models import Alert, AlertEvent, AlertRule, MetricMinute, RuleState
from rollout.monitoring.recorder import _recorder

pytestmark = pytest.mark.django_db


def _rule(**fields: Any) -> AlertRule:
    defaults = {
        "name": "test rule",
        "metric": "calc.outcome",
        "tags": {"outcome": "failure"},
        "denominator_metric": "calc.outcome",
        "aggregation": "ratio",
        "operator": "gt",
        "warning": 0.02,
        "error": 0.05,
        "critical": 0.10,
        "window_minutes": 5,
        "min_samples": 10,
        "recovery_minutes": 2,
    }
    defaults.update(fields)
    AlertRule.objects.exclude(name=defaults["name"]).update(enabled=False)  # only this rule speaks
    return AlertRule.objects.create(**defaults)


def _outcomes(now: Any, *, failures: int, successes: int, method: str = "stream") -> None:
    for _ in range(failures):
        record_at(now, "calc.outcome", 1, outcome="failure", method=method)
    for _ in range(successes):
        record_at(now, "calc.outcome", 1, outcome="success", method=method)
    flush()


def test_record_costs_no_query_and_flush_upserts(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        for value in (5.0, 10.0, 15.0):
            record("latency_ms", value, route="a")
        increment("hits", route="a")
        with timer("block_ms", route="a"):
            pass
    flush()
    row = MetricMinute.objects.get(metric="latency_ms")
    assert (row.count, row.sum, row.sum_sq, row.min, row.max) == (3, 30.0, 350.0, 5.0, 15.0)
    assert row.tags == {"route": "a"} and row.tags_key == "route=a"
    record("latency_ms", 20.0, route="a")
    flush()
    row.refresh_from_db()
    assert (row.count, row.max) == (4, 20.0)
    assert sum(row.buckets.values()) == 4
    assert MetricMinute.objects.filter(metric="latency_ms").count() == 1
    assert MetricMinute.objects.get(metric="block_ms").count == 1


def test_non_finite_values_are_ignored() -> None:
    record("x", float("nan"))
    record("x", float("inf"))
    assert flush() == 0


def test_failed_flush_keeps_the_data() -> None:
    record("kept", 1.0)
    data = _recorder.take()
    _recorder.put_back(data)
    assert flush() == 1
    assert MetricMinute.objects.get(metric="kept").count == 1


def test_stored_percentiles_match_numpy_within_a_bucket() -> None:
    from rollout.histogram import bucket_index
    from rollout.monitoring.aggregate import Stats

    samples = np.random.default_rng(7).lognormal(4, 0.8, 2000)
    for value in samples:
        record("dist_ms", float(value))
    flush()
    row = MetricMinute.objects.get(metric="dist_ms")
    stats = Stats()
    stats.add_row(row.count, row.sum, row.sum_sq, row.min, row.max, row.buckets)
    for q in (50, 95, 99):
        estimate = stats.quantile(q)
        assert estimate is not None
        assert abs(bucket_index(estimate) - bucket_index(float(np.percentile(samples, q)))) <= 1


def test_burst_of_failures_opens_alert_with_severity_and_does_not_duplicate() -> None:
    rule = _rule()
    now = timezone.now()
    _outcomes(now, failures=3, successes=97)  # 3 % → warning
    rules_evaluate(now=now, force=True)
    alert = Alert.objects.get(rule=rule)
    assert (alert.status, alert.severity, alert.tags_key) == ("open", "warning", "")
    assert alert.value == pytest.approx(0.03)
    _outcomes(now, failures=17, successes=0)  # 20 / 117 ≈ 17 % → critical
    rules_evaluate(now=now + timedelta(seconds=60), force=True)
    rules_evaluate(now=now + timedelta(seconds=120), force=True)
    assert Alert.objects.filter(rule=rule).count() == 1
    alert.refresh_from_db()
    assert alert.severity == "critical" and alert.peak_severity == "critical" and alert.evaluations == 3
    events = list(alert.events.values_list("kind", "from_severity", "to_severity"))
    assert events == [("opened", "", "warning"), ("severity", "warning", "critical")]
    state = RuleState.objects.get(rule=rule)
    assert state.consecutive_critical == 2 and state.samples == 117


def test_recovery_resolves_after_the_stated_time() -> None:
    rule = _rule(recovery_minutes=2, window_minutes=2)
    now = timezone.now().replace(second=30)
    _outcomes(now, failures=5, successes=20)
    rules_evaluate(now=now, force=True)
    assert Alert.objects.get(rule=rule).status == "open"
    later = now + timedelta(minutes=3)  # the bad minute has left the window; healthy traffic now
    _outcomes(later, failures=0, successes=50)
    rules_evaluate(now=later, force=True)
    assert Alert.objects.get(rule=rule).status == "open"  # OK, but not yet for 2 minutes
    _outcomes(later + timedelta(minutes=2), failures=0, successes=50)
    rules_evaluate(now=later + timedelta(minutes=2), force=True)
    alert = Alert.objects.get(rule=rule)
    assert alert.status == "resolved" and alert.resolved_by is None
    assert alert.events.filter(kind=AlertEvent.Kind.RESOLVED).count() == 1


def test_too_few_samples_give_no_verdict() -> None:
    rule = _rule(min_samples=50)
    now = timezone.now()
    _outcomes(now, failures=5, successes=5)
    rules_evaluate(now=now, force=True)
    assert not Alert.objects.filter(rule=rule).exists()
    assert RuleState.objects.get(rule=rule).state == "no_data"


def test_group_by_opens_one_alert_per_tag_set() -> None:
    rule = _rule(group_by=["method"])
    now = timezone.now()
    _outcomes(now, failures=20, successes=80, method="stream")
    _outcomes(now, failures=0, successes=100, method="average_hr")
    rules_evaluate(now=now, force=True)
    alert = Alert.objects.get(rule=rule)
    assert alert.tags == {"method": "stream"} and alert.severity == "critical"
    states = dict(RuleState.objects.filter(rule=rule).values_list("tags_key", "state"))
    assert states == {"method=stream": "critical", "method=average_hr": "ok"}


@pytest.mark.parametrize(
    ("aggregation", "operator", "value_check"),
    [
        ("p95", "gt", lambda v: 900 < v < 1300),
        ("mean", "gt", lambda v: v == pytest.approx((99 * 1000 + 1500) / 100)),
        ("max", "gt", lambda v: v == 1500),
        ("count", "gt", lambda v: v == 100),
    ],
)
def test_aggregations(aggregation: str, operator: str, value_check: Any) -> None:
    rule = _rule(
        metric="calc_ms",
        tags={},
        denominator_metric="",
        aggregation=aggregation,
        operator=operator,
        warning=None,
        error=None,
        critical=1e9,
        min_samples=1,
    )
    now = timezone.now()
    for value in [1000.0] * 95 + [1000.0] * 4 + [1500.0]:
        record_at(now, "calc_ms", value)
    flush()
    rules_evaluate(now=now, force=True)
    assert value_check(RuleState.objects.get(rule=rule).value)


def test_interval_is_respected_and_lease_allows_one_run() -> None:
    rule = _rule(interval_seconds=300)
    now = timezone.now()
    assert rules_evaluate(now=now).evaluated_rules == 1
    assert rules_evaluate(now=now + timedelta(seconds=60)).evaluated_rules == 0
    with lease("rules", now=now) as held:
        assert held
        assert rules_evaluate(now=now + timedelta(seconds=10), force=True).skipped is True
    assert rules_evaluate(now=now + timedelta(seconds=400)).evaluated_rules == 1
    rule.refresh_from_db()
    assert rule.last_evaluated_at == now + timedelta(seconds=400)


def test_default_rules_are_seeded() -> None:
    names = set(AlertRule.objects.values_list("name", flat=True))
    assert {
        "TRIMP error rate",
        "TRIMP success rate",
        "TRIMP accuracy within 5 %",
        "TRIMP calculation time p95",
        "Process memory",
        "API error rate",
    } <= names
    p95 = AlertRule.objects.get(name="TRIMP calculation time p95")
    assert (p95.warning, p95.error, p95.critical) == (1000, 5000, 10000)
    accuracy = AlertRule.objects.get(name="TRIMP accuracy within 5 %")
    assert accuracy.operator == "lt" and accuracy.critical == 0.80


def test_api_requests_and_jobs_are_recorded(client_for: Any, make_user: Any) -> None:
    from core.jobs import job_run
    from core.models import Job

    client_for(make_user()).get("/api/v1/me")
    job = Job.objects.create(kind="core.ping", enqueued_at=timezone.now())
    job_run(job.pk)
    flush()
    latency = MetricMinute.objects.get(metric="api.latency_ms")
    assert latency.tags["route"] == "api/v1/me" and latency.tags["status_class"] == "2xx"
    assert MetricMinute.objects.get(metric="jobs.finished").tags == {"kind": "core.ping", "outcome": "succeeded"}

"""Monitoring benchmark: record() overhead, rule evaluation over 30 days of per-minute aggregates,
and the time from a held critical breach to the rollback row.

    python bench/bench_monitoring.py [--write docs/benchmarks.md] [--days 30]

Runs on a temporary SQLite database and, when PostgreSQL answers on 127.0.0.1:5432, on a fresh database
``stamina_bench_<pid>`` that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import command_line, machine, postgres_available, run_child, write_section

N_METRICS = 50
N_RULES = 100


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    os.environ["LOG_LEVEL"] = "error"
    os.environ["METRICS_FLUSH_THREAD"] = "false"
    os.environ["METRICS_FLUSH_SECONDS"] = "100000"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_record() -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rollout.monitoring import flush, record

    n = 200_000
    runs = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            started = time.perf_counter()
            for i in range(n):
                record("bench.latency_ms", 12.5 + (i % 50), route="api/v1/activities", status_class="2xx")
            runs.append((time.perf_counter() - started) / n * 1e6)
    flush()
    return {"record_us": statistics.median(runs), "record_queries": len(queries.captured_queries)}


def seed(days: int) -> int:
    from django.utils import timezone

    from rollout.histogram import bucket_index
    from rollout.monitoring.models import MetricMinute

    end = timezone.now().replace(second=0, microsecond=0)
    start = end - timedelta(days=days)
    rng = random.Random(1)
    total = 0
    batch: list[MetricMinute] = []
    minutes = int((end - start).total_seconds() // 60) + 1
    for m in range(N_METRICS):
        metric = f"bench.metric_{m:02d}"
        tags = {"method": "stream" if m % 2 else "average_hr"}
        key = f"method={tags['method']}"
        for i in range(minutes):
            count = rng.randint(5, 40)
            mean = 100 + rng.random() * 50
            batch.append(
                MetricMinute(
                    metric=metric,
                    tags_key=key,
                    tags=tags,
                    minute=start + timedelta(minutes=i),
                    count=count,
                    sum=mean * count,
                    sum_sq=mean * mean * count * 1.05,
                    min=mean * 0.5,
                    max=mean * 2,
                    buckets={str(bucket_index(mean)): count},
                )
            )
            if len(batch) >= 20_000:
                MetricMinute.objects.bulk_create(batch)
                total += len(batch)
                batch = []
    MetricMinute.objects.bulk_create(batch)
    return total + len(batch)


def bench_evaluate() -> dict[str, float]:
    from rollout.monitoring.evaluation import rules_evaluate
    from rollout.monitoring.models import AlertRule

    AlertRule.objects.all().delete()
    aggregations = ["mean", "p95", "p99", "max", "count", "rate", "ratio"]
    windows = [5, 10, 15, 60, 1440]
    for r in range(N_RULES):
        aggregation = aggregations[r % len(aggregations)]
        AlertRule.objects.create(
            name=f"bench rule {r}",
            metric=f"bench.metric_{r % N_METRICS:02d}",
            aggregation=aggregation,
            denominator_metric=f"bench.metric_{(r + 1) % N_METRICS:02d}" if aggregation == "ratio" else "",
            group_by=["method"] if r % 3 == 0 else [],
            operator="gt",
            warning=1e12,
            critical=2e12,
            window_minutes=windows[r % len(windows)],
            min_samples=1,
        )
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        report = rules_evaluate(force=True)
        runs.append(time.perf_counter() - started)
        assert report.evaluated_rules == N_RULES
    return {"evaluate_s": statistics.median(runs), "evaluate_best_s": min(runs)}


def bench_guard_latency() -> dict[str, float]:
    from django.utils import timezone

    from rollout.models import Rollout, RolloutTransition
    from rollout.monitoring import flush, record_at
    from rollout.monitoring.evaluation import rules_evaluate
    from rollout.monitoring.models import AlertRule
    from rollout.rollouts import rollout_set_phase, rollout_start

    AlertRule.objects.update(enabled=False)
    rule = AlertRule.objects.create(
        name="bench guard",
        metric="trimp.calculations",
        tags={"outcome": "failure"},
        denominator_metric="trimp.calculations",
        aggregation="ratio",
        operator="gt",
        critical=0.05,
        min_samples=10,
    )
    rollout = rollout_start(flag_name="enhanced_trimp_calculation", actor=None, reason="bench").rollout
    rollout.guard_rules.add(rule)
    Rollout.objects.filter(pk=rollout.pk).update(guard_consecutive=3)
    rollout_set_phase(flag_name="enhanced_trimp_calculation", phase="percent_25", actor=None, reason="bench")
    now = timezone.now()
    for i in range(100):
        record_at(now, "trimp.calculations", 1, outcome="failure" if i < 20 else "success")
    flush()
    for k in range(2):
        rules_evaluate(now=now + timedelta(minutes=k), force=True)
    third = now + timedelta(minutes=2)
    started = time.perf_counter()
    report = rules_evaluate(now=third, force=True)
    elapsed = time.perf_counter() - started
    transition = RolloutTransition.objects.filter(source="guard").get()
    return {
        "guard_eval_s": elapsed,
        "guard_incidents": len(report.incidents),
        "guard_same_run": float(bool(report.incidents) and transition.kind == "rollback"),
    }


def child(days: int) -> None:
    _setup()
    result = bench_record()
    started = time.perf_counter()
    result["rows"] = seed(days)
    result["seed_s"] = time.perf_counter() - started
    result.update(bench_evaluate())
    result.update(bench_guard_latency())
    print("RESULT " + json.dumps(result))


def _run(env_extra: dict[str, str], days: int) -> dict[str, float]:
    return run_child(__file__, ["--days", str(days)], env_extra)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.days)
        return
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as var_dir:
        results["SQLite"] = _run({"STAMINA_VAR_DIR": var_dir, "CELERY_BROKER_URL": "memory://"}, args.days)
        if postgres_available():
            db = f"stamina_bench_{os.getpid()}"
            admin = "postgres://postgres@127.0.0.1:5432/postgres"
            subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{db}"'], check=True, capture_output=True)
            try:
                results["PostgreSQL"] = _run(
                    {
                        "STAMINA_VAR_DIR": var_dir,
                        "CELERY_BROKER_URL": "memory://",
                        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
                    },
                    args.days,
                )
            finally:
                subprocess.run(
                    ["psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], capture_output=True
                )
    rows = "".join(
        f"| {name} | {r['record_us']:.2f} µs ({r['record_queries']:.0f} queries in 1,000,000 calls) | "
        f"{r['rows']:,.0f} rows | {r['evaluate_s'] * 1000:.0f} ms (best {r['evaluate_best_s'] * 1000:.0f} ms) | "
        f"{'same evaluation run' if r['guard_same_run'] else 'NOT in the same run'} ({r['guard_eval_s'] * 1000:.0f} ms) |\n"
        for name, r in results.items()
    )
    body = f"""Machine: {machine()}. Command: `{command_line()}`.

| database | `record()` per call (target ≤ 20 µs, no DB write per call) | aggregates seeded ({N_METRICS} metrics × {args.days} days × 1,440 min) | evaluating {N_RULES} rules (target ≤ 1 s) | breach → rollback row (target: within one evaluation interval after N breaches) |
|---|---|---|---|---|
{rows}
Rules mix mean / p95 / p99 / max / count / rate / ratio aggregations over 5, 10, 15, 60 and 1,440-minute windows,
a third grouped by a tag. The rollback row is written by the guard inside the evaluation run that sees the N-th
consecutive critical verdict, so the delay from the N-th breach is the run's own duration (last column).
"""
    print(body)
    if args.write:
        write_section(args.write, "Monitoring", body)


if __name__ == "__main__":
    main()

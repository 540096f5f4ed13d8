"""Experiments benchmark: the statistics per call (against scipy's equivalents in the same run), the exposure
hot path (queries and time for an already-logged exposure), and the analysis of 1,000,000 exposures × 5 metrics.

    python bench/bench_experiments.py [--write docs/benchmarks.md] [--users 1000000]
    python bench/bench_experiments.py --stats-only   # the statistics table alone (no database), not written

The analysis runs on a fresh PostgreSQL database ``stamina_bench_exp_<pid>`` (dropped afterwards) filled with
generate_series: N users, N exposures (50/50), one satisfaction survey and one scored activity per user; the five
metrics are feedback.rating, feedback.satisfied, feedback.poor_rating (one table) and trimp.calculation_ms,
trimp.calculation_error (another). The hot path runs on a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import command_line, machine, run_child, write_section

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def _per_call_us(func: object, number: int) -> float:
    """Best of 5 repeats, microseconds per call."""
    return min(timeit.repeat(func, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def bench_stats() -> list[tuple[str, float, str, float | None]]:
    """(function, µs per call, scipy peer, its µs per call)."""
    import numpy as np
    from scipy import optimize
    from scipy import stats as sps

    from rollout import stats

    args = (3.5, 0.49, 1100, 3.7, 0.52, 1080)
    result = stats.welch_ttest(*args)

    def scipy_power(d: float = 0.2, n_c: int = 400, n_t: int = 400) -> float:
        dof = n_c + n_t - 2
        ncp = d / np.sqrt(1 / n_c + 1 / n_t)
        q = sps.t.ppf(0.975, dof)
        return float(sps.nct.sf(q, dof, ncp) + sps.nct.sf(q, dof, -ncp))

    def scipy_mde() -> float:
        return float(optimize.brentq(lambda d: scipy_power(d, 1000, 1000) - 0.8, 1e-4, 2.0))

    def scipy_sample_size() -> int:
        n = optimize.brentq(lambda n: scipy_power(0.2, n, n) - 0.8, 3, 5000)
        return int(np.ceil(n))

    rows = [
        (
            "welch_ttest (absolute)",
            _per_call_us(lambda: stats.welch_ttest(*args), 20000),
            "scipy.stats.ttest_ind_from_stats(equal_var=False)",
            _per_call_us(lambda: sps.ttest_ind_from_stats(3.7, 0.72, 1080, 3.5, 0.7, 1100, equal_var=False), 2000),
        ),
        (
            "welch_ttest (relative, delta method)",
            _per_call_us(lambda: stats.welch_ttest(*args, relative=True), 20000),
            "-",
            None,
        ),
        (
            "srm_p_value (2 arms)",
            _per_call_us(lambda: stats.srm_p_value([5000, 5100], [50, 50]), 20000),
            "scipy.stats.chisquare",
            _per_call_us(lambda: sps.chisquare([5000, 5100], [5050, 5050]), 2000),
        ),
        ("cohens_d", _per_call_us(lambda: stats.cohens_d(*args), 50000), "-", None),
        (
            "power_ttest",
            _per_call_us(lambda: stats.power_ttest(0.2, 400, 400), 20000),
            "scipy.stats.nct.sf × 2 (+ t.ppf)",
            _per_call_us(scipy_power, 500),
        ),
        (
            "sample_size (d = 0.2)",
            _per_call_us(lambda: stats.sample_size(0.2), 5000),
            "brentq over scipy.stats.nct power",
            _per_call_us(scipy_sample_size, 20),
        ),
        (
            "mde (1,000 per arm)",
            _per_call_us(lambda: stats.mde(1000, 1000), 5000),
            "brentq over scipy.stats.nct power",
            _per_call_us(scipy_mde, 20),
        ),
        ("sequential_ci", _per_call_us(lambda: stats.sequential_ci(result, 2180), 50000), "-", None),
    ]
    return rows


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    os.environ["LOG_LEVEL"] = "error"
    os.environ["METRICS_FLUSH_THREAD"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_hot_path() -> dict[str, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rollout.experiments.services import (
        MetricSpec,
        VariantSpec,
        experiment_assign,
        experiment_create,
        experiment_start,
    )
    from rollout.flags import evaluate
    from rollout.services import flag_update

    experiment_create(
        key="bench-hot",
        name="bench",
        variants=[VariantSpec("a", 50.0), VariantSpec("b", 50.0)],
        metrics=[MetricSpec("feedback.rating", "primary")],
        actor=None,
    )
    flag_update(name="bench-hot", changes={"everyone": True}, actor=None, source="command", reason="bench")
    experiment_start(key="bench-hot")
    experiment_assign(key="bench-hot", user_id=1)  # logs it
    with CaptureQueriesContext(connection) as queries:
        for _ in range(1000):
            experiment_assign(key="bench-hot", user_id=1)
    started = time.perf_counter()
    fresh = 2000
    for user_id in range(2, 2 + fresh):
        experiment_assign(key="bench-hot", user_id=user_id)
    first_us = (time.perf_counter() - started) / fresh * 1e6
    return {
        "repeat_queries": float(len(queries)),
        "repeat_us": _per_call_us(lambda: experiment_assign(key="bench-hot", user_id=1), 20000),
        "flag_only_us": _per_call_us(lambda: evaluate("bench-hot", user_id=1), 20000),
        "first_us": first_us,
    }


FILL = [
    """INSERT INTO core_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
           date_joined, role, timezone)
       SELECT '!', false, 'bench-exp-' || g, '', '', '', false, false, now(), 'athlete', 'UTC'
       FROM generate_series(1, %(n)s) AS g""",
    """INSERT INTO experiments_exposure (experiment_id, user_id, variant, exposed_at)
       SELECT %(experiment)s, u.id, CASE WHEN u.id %% 2 = 0 THEN 'a' ELSE 'b' END, now() - interval '10 days'
       FROM core_user u WHERE u.username LIKE 'bench-exp-%%'""",
    """INSERT INTO feedback_feedback (user_id, type, category, category_source, rating, message, message_hash,
           context, status, sentiment, priority, priority_rule, category_rule, keywords, topic, acknowledgement,
           overrides, duplicate_count, week, created_at, updated_at, ack_due_at)
       SELECT u.id, 'satisfaction_survey', '', 'user', LEAST(5, 1 + (u.id * 7919) %% 5 + (u.id %% 2) * ((u.id / 2) %% 2)),
           'survey', md5(u.id::text), '{}'::jsonb, 'closed', '', '', '', '', '[]'::jsonb, '', '', '{}'::jsonb, 0,
           date_trunc('week', now())::date, now() - interval '5 days', now(), now()
       FROM core_user u WHERE u.username LIKE 'bench-exp-%%'""",
    """INSERT INTO training_activity (athlete_id, sport, start, local_date, source, external_id, filename,
           sample_count, created_at, trimp_calculation_method, trimp_method_reason, engine_version, trimp_warnings,
           trimp_error_code, trimp_error, trimp_details, trimp_processed_at, calculation_ms, trimp, hr_profile_backfilled)
       SELECT u.id, 'run', now() - interval '5 days', (now() - interval '5 days')::date, 'demo', 'b' || u.id, '', 0,
           now(), 'stream', '', 'bench', '[]'::jsonb, CASE WHEN u.id %% 97 = 0 THEN 'TRIMP_001' ELSE '' END, '',
           '{}'::jsonb, now() - interval '5 days', 5 + (u.id %% 13), 80, false
       FROM core_user u WHERE u.username LIKE 'bench-exp-%%'""",
]
METRICS = [
    ("feedback.rating", "primary"),
    ("feedback.satisfied", "secondary"),
    ("feedback.poor_rating", "guardrail"),
    ("trimp.calculation_ms", "guardrail"),
    ("trimp.calculation_error", "guardrail"),
]


# One "hour" of new events: the users with id % every == hour % every rate again and record one more activity,
# at times spread over the 3,000 s after %(lo)s (between the previous watermark and this analysis's one).
HOUR = [
    """INSERT INTO feedback_feedback (user_id, type, category, category_source, rating, message, message_hash,
           context, status, sentiment, priority, priority_rule, category_rule, keywords, topic, acknowledgement,
           overrides, duplicate_count, week, created_at, updated_at, ack_due_at)
       SELECT u.id, 'satisfaction_survey', '', 'user', 1 + (u.id * 31 + %(hour)s) %% 5,
           'survey', md5(u.id::text || %(hour)s), '{}'::jsonb, 'closed', '', '', '', '', '[]'::jsonb, '', '',
           '{}'::jsonb, 0, date_trunc('week', now())::date,
           %(lo)s::timestamptz + ((u.id * 7) %% 3000) * interval '1 second', now(), now()
       FROM core_user u WHERE u.username LIKE 'bench-exp-%%' AND u.id %% %(every)s = %(hour)s %% %(every)s""",
    """INSERT INTO training_activity (athlete_id, sport, start, local_date, source, external_id, filename,
           sample_count, created_at, trimp_calculation_method, trimp_method_reason, engine_version, trimp_warnings,
           trimp_error_code, trimp_error, trimp_details, trimp_processed_at, calculation_ms, trimp, hr_profile_backfilled)
       SELECT u.id, 'run', now(), now()::date, 'demo', 'b' || u.id || '-h' || %(hour)s, '', 0, now(), 'stream', '',
           'bench', '[]'::jsonb, CASE WHEN (u.id + %(hour)s) %% 89 = 0 THEN 'TRIMP_001' ELSE '' END, '', '{}'::jsonb,
           %(lo)s::timestamptz + ((u.id * 7) %% 3000) * interval '1 second', 4 + (u.id %% 11), 80, false
       FROM core_user u WHERE u.username LIKE 'bench-exp-%%' AND u.id %% %(every)s = %(hour)s %% %(every)s""",
]


def bench_analysis(users: int) -> dict[str, float]:
    from datetime import timedelta

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from rollout.experiments.analysis import experiment_analyse, metric_sums, metrics_sums
    from rollout.experiments.models import Experiment
    from rollout.experiments.services import MetricSpec, VariantSpec, experiment_create, experiment_start

    experiment_create(
        key="bench-analysis",
        name="bench",
        variants=[VariantSpec("a", 50.0), VariantSpec("b", 50.0)],
        metrics=[MetricSpec(source, role) for source, role in METRICS],
        actor=None,
    )
    experiment = experiment_start(key="bench-analysis", now=timezone.now() - timedelta(days=10))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in FILL:
            cursor.execute(sql, {"n": users, "experiment": experiment.pk})
        for table in ("core_user", "experiments_exposure", "feedback_feedback", "training_activity"):
            cursor.execute(f"ANALYZE {table}")
    fill_s = time.perf_counter() - started
    settle = timedelta(seconds=settings.EXPERIMENT_ROLLUP_SETTLE_SECONDS)
    now = timezone.now()

    def analyse(at: object, *, full: bool = False) -> tuple[float, object]:
        began = time.perf_counter()
        result = experiment_analyse(key="bench-analysis", now=at, full=full)  # type: ignore[arg-type]
        return time.perf_counter() - began, result

    # The first analysis of an experiment (and the daily rebuild): every event, written as the folded state.
    full_runs = [analyse(now, full=True)[0] for _ in range(2)]

    def hour(i: int, every: int) -> tuple[float, float, object]:
        """Add one hour of new events (1 of ``every`` users), then the hourly analysis at now + i hours."""
        lo = now + timedelta(hours=i - 1) - settle
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in HOUR:
                cursor.execute(sql, {"lo": lo, "hour": i, "every": every})
        write_s = time.perf_counter() - began
        seconds, result = analyse(now + timedelta(hours=i))
        return seconds, write_s, result

    hourly = [hour(i, 100) for i in (1, 2, 3)]  # 1 % of the users rate and train again each hour
    busy, _, _ = hour(4, 10)  # a busy hour: 10 %
    idle, result = analyse(now + timedelta(hours=4))  # nothing new since the last run
    check = metrics_sums(Experiment.objects.get(key="bench-analysis"), [m for m, _ in METRICS])
    drift = 0.0
    for metric in result.data["metrics"]:  # type: ignore[attr-defined]
        for variant, got in metric["variants"].items():
            want = check[metric["source"]][variant]
            drift = max(drift, abs(got["mean"] - want.mean) / abs(want.mean or 1.0))
    per_metric = {}
    for source, _ in METRICS:
        started = time.perf_counter()
        metric_sums(Experiment.objects.get(key="bench-analysis"), source)
        per_metric[source] = (time.perf_counter() - started) * 1000
    return {
        "fill_s": fill_s,
        "full_s": statistics.median(full_runs),
        "full_best_s": min(full_runs),
        "hourly_s": statistics.median(h[0] for h in hourly),
        "hourly_max_s": max(h[0] for h in hourly),
        "hourly_users": float(
            statistics.median(h[2].data["rollups"]["feedback.rating"]["folded_users"] for h in hourly)
        ),  # type: ignore[attr-defined]
        "busy_s": busy,
        "idle_s": idle,
        "max_rel_diff": drift,
        "exposures": float(sum(result.exposures.values())),  # type: ignore[attr-defined]
        **{f"metric_ms:{k}": v for k, v in per_metric.items()},
    }


def child(mode: str, users: int) -> None:
    _setup()
    result = bench_hot_path() if mode == "hot" else bench_analysis(users)
    print("RESULT " + json.dumps(result))


def _stats_table(rows: list[tuple[str, float, str, float | None]]) -> str:
    lines = [
        "| statistics function | ours, µs per call | scipy equivalent | scipy, µs per call | ratio | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, ours, peer, theirs in rows:
        ratio = f"{theirs / ours:.0f}× faster" if theirs else "-"
        theirs_text = f"{theirs:.1f}" if theirs else "-"
        lines.append(f"| `{name}` | **{ours:.1f}** | {peer} | {theirs_text} | {ratio} | ≤ 50 µs |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["hot", "analysis"])
    parser.add_argument("--stats-only", action="store_true", help="time the statistics functions only")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.users)
        return
    if args.stats_only and args.write:
        parser.error("--stats-only prints a partial table: it cannot --write the section")
    load_before = os.getloadavg()[0]
    stats_rows = bench_stats()
    if args.stats_only:
        print(f"load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
        print(_stats_table(stats_rows))
        return
    with tempfile.TemporaryDirectory() as var_dir:
        hot = run_child(__file__, ["hot"], {"STAMINA_VAR_DIR": var_dir, "CELERY_BROKER_URL": "memory://"})
    db = f"stamina_bench_exp_{os.getpid()}"
    pg: dict[str, float] | None = None
    if subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{db}"'], capture_output=True).returncode == 0:
        try:
            with tempfile.TemporaryDirectory() as var_dir:
                env = {
                    "STAMINA_VAR_DIR": var_dir,
                    "CELERY_BROKER_URL": "memory://",
                    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
                }
                pg = run_child(__file__, ["analysis", "--users", str(args.users)], env)
        finally:
            subprocess.run(
                ["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], capture_output=True
            )
    load_after = os.getloadavg()[0]
    lines = [
        f"Machine: {machine()}; load average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end "
        f"(the machine is shared). Command: `{command_line()}`.",
        "",
        _stats_table(stats_rows),
    ]
    lines += [
        "",
        "| exposure hot path (SQLite) | result | target |",
        "|---|---|---|",
        f"| queries for 1,000 repeats of an already-logged exposure | **{hot['repeat_queries']:.0f}** | 0 writes |",
        f"| `experiment_assign` for an already-logged user | {hot['repeat_us']:.1f} µs "
        f"(flag evaluation alone {hot['flag_only_us']:.1f} µs) | (reference) |",
        f"| first exposure of a user (one INSERT … ON CONFLICT DO NOTHING) | {hot['first_us']:.0f} µs | (reference) |",
    ]
    if pg:
        per_metric = ", ".join(f"{k.split(':', 1)[1]} {v:.0f} ms" for k, v in pg.items() if k.startswith("metric_ms:"))
        lines += [
            "",
            "| analysis on PostgreSQL | result | target |",
            "|---|---|---|",
            f"| {pg['exposures']:,.0f} exposures × 5 metrics: the hourly analysis (1 % of users, "
            f"{pg['hourly_users']:,.0f}, with new events since the last run: fold them, stats, verdict) | **{pg['hourly_s']:.2f} s** median of 3 "
            f"(max {pg['hourly_max_s']:.2f} s) | ≤ 2 s |",
            f"| the same, a busy hour (10 % of users, 100,000, with new events) | {pg['busy_s']:.2f} s | (reference: "
            "linear in the users touched) |",
            f"| the same, nothing new since the last run | {pg['idle_s'] * 1000:.0f} ms | |",
            f"| first analysis / daily full rebuild (every event; folded state rewritten) | "
            f"{pg['full_s']:.2f} s median of 2 (best {pg['full_best_s']:.2f} s) | (once a day) |",
            f"| incremental result vs a from-scratch computation after 4 hours, largest relative difference of a "
            f"mean | {pg['max_rel_diff']:.1e} | exact |",
            f"| from scratch, per metric (`metric_sums`: one grouped join each, the old way) | {per_metric} | "
            "(reference) |",
            f"| filling the database (generate_series) | {pg['fill_s']:.0f} s | (setup) |",
            "",
            "The analysis is incremental (`rollout/experiments/rollups.py`, `docs/experiments.md`): per metric and "
            "variant the stored (n, Σ per-user mean, Σ mean²) over the events before a watermark; each run reads "
            "only the users with events since then (through the events table's user index), moves the sums by the "
            "change of their means and advances the watermark; a full rebuild from every event runs daily. Its "
            "cost is therefore the users touched since the last run, not the experiment's size: the from-scratch "
            "path (last rows) is ~2.5–3 s per metric at 1,000,000 exposures — a 1M-row hash join and a 1M-group "
            "per-user aggregate, no spill. One planner setting matters: with PostgreSQL's default "
            "`random_page_cost` (4) the per-user read of 10,000 users chose a sequential scan of every event "
            "(`EXPLAIN ANALYZE`: 747 ms feedback, 713 ms activities); the fold sets `random_page_cost = 1.1` for "
            "its own transaction (SSD-class storage, indexes in memory) and gets index look-ups (109 ms, 181 ms).",
        ]
    else:
        lines += ["", "PostgreSQL was not reachable: the 1,000,000-exposure analysis did not run."]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(args.write, "Experiments", body)


if __name__ == "__main__":
    main()

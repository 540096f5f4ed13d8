"""Feedback benchmark: the submit path in-process (HTTP stack included), and the summary over 1,000,000 rows.

    python bench/bench_feedback.py [--write docs/benchmarks.md] [--rows 1000000]

Submit runs on a temporary SQLite database; the summary runs on a fresh PostgreSQL database
``stamina_bench_fb_<pid>`` (dropped afterwards) filled with generate_series, and on SQLite with 100,000 rows.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import command_line, machine, run_child, write_section

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    os.environ["LOG_LEVEL"] = "error"
    os.environ["METRICS_FLUSH_THREAD"] = "false"
    os.environ["THROTTLE_FEEDBACK"] = "100000/min"
    os.environ["THROTTLE_USER"] = "100000/min"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_submit(n: int = 1000) -> dict[str, float]:
    from rest_framework.test import APIClient

    from core.models import User
    from core.services import token_create

    user = User.objects.create_user(username="bench-submit", password="x")
    _, token = token_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    times = []
    for i in range(n):
        started = time.perf_counter()
        response = client.post(
            "/api/feedback/submit", {"type": "bug_report", "message": f"Upload fails #{i}"}, format="json"
        )
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.content
    times.sort()
    return {"submit_p50_ms": times[n // 2], "submit_p95_ms": times[int(n * 0.95)], "submit_n": n}


FILL_SQL = """
INSERT INTO feedback_feedback (user_id, type, category, category_source, rating, message, message_hash, context,
    status, sentiment, sentiment_score, priority, priority_rule, category_rule, keywords, topic, acknowledgement,
    overrides, duplicate_count, week, created_at, updated_at, ack_due_at, acknowledged_at)
SELECT u.ids[1 + (g %% array_length(u.ids, 1))],
    (ARRAY['bug_report','feature_request','performance_issue','usability_issue','general_feedback','satisfaction_survey'])[1 + g %% 6],
    (ARRAY['accuracy','performance','usability','reliability','documentation','other'])[1 + (g / 7) %% 6], 'auto',
    CASE WHEN g %% 3 = 0 THEN 1 + g %% 5 ELSE NULL END,
    'generated message ' || g, md5(g::text), '{"flags": {"enhanced_trimp_calculation": true}, "variants": {}}'::jsonb,
    (ARRAY['new','triaged','in_progress','resolved','closed'])[1 + (g / 11) %% 5],
    (ARRAY['positive','neutral','negative'])[1 + (g / 13) %% 3], 0, (ARRAY['critical','high','medium','low'])[1 + (g / 17) %% 4],
    'bench', 'bench', '[]'::jsonb, (ARRAY['upload','trimp','crash','slow','menu','sync','heart','garmin'])[1 + (g / 19) %% 8],
    '', '{}'::jsonb, 0,
    date_trunc('week', now() - (g %% 365) * interval '1 day')::date, now() - (g %% 365) * interval '1 day', now(),
    now() - (g %% 365) * interval '1 day' + interval '24 hours',
    CASE WHEN g %% 4 = 0 THEN NULL ELSE now() - (g %% 365) * interval '1 day' + (g %% 40) * interval '1 hour' END
FROM generate_series(1, %s) AS g, (SELECT array_agg(id) AS ids FROM core_user) AS u
"""


def fill(rows: int) -> float:
    from django.db import connection

    from core.models import User
    from feedback.models import Feedback

    User.objects.bulk_create([User(username=f"fb-bench-{i}") for i in range(500)])
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(FILL_SQL, [rows])
            cursor.execute("ANALYZE feedback_feedback")
    else:
        import datetime as dt
        import random

        from django.utils import timezone

        rng = random.Random(1)
        users = list(User.objects.values_list("pk", flat=True))
        now = timezone.now()
        batch = []
        for g in range(rows):
            created = now - dt.timedelta(days=g % 365)
            batch.append(
                Feedback(
                    user_id=users[g % len(users)],
                    type=["bug_report", "feature_request", "general_feedback"][g % 3],
                    category=["accuracy", "performance", "other"][g % 3],
                    rating=1 + g % 5 if g % 3 == 0 else None,
                    message=f"m{g}",
                    message_hash=str(g),
                    context={"flags": {}, "variants": {}},
                    status="triaged",
                    sentiment=["positive", "neutral", "negative"][g % 3],
                    priority=["high", "low"][g % 2],
                    topic=["upload", "crash"][rng.randint(0, 1)],
                    week=(created - dt.timedelta(days=created.weekday())).date(),
                    created_at=created,
                    ack_due_at=created + dt.timedelta(hours=24),
                )
            )
            if len(batch) >= 20_000:
                Feedback.objects.bulk_create(batch)
                batch = []
        Feedback.objects.bulk_create(batch)
    from feedback.rollup import rebuild

    rebuild()  # bulk loads bypass the services: build the daily counts as the nightly task would
    return time.perf_counter() - started


def bench_summary() -> dict[str, float]:
    from feedback.selectors import feedback_summary

    result: dict[str, float] = {}
    for label, kwargs in (("summary", {}), ("filtered", {"flag": "enhanced_trimp_calculation"})):
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            summary = feedback_summary(**kwargs)
            runs.append((time.perf_counter() - started) * 1000)
        result.update(
            {f"{label}_ms": statistics.median(runs), f"{label}_best_ms": min(runs), f"{label}_total": summary["total"]}
        )
    return result


def child(mode: str, rows: int) -> None:
    _setup()
    result: dict[str, float] = {}
    if mode == "submit":
        result.update(bench_submit())
    else:
        result["fill_s"] = fill(rows)
        result.update(bench_summary())
    print("RESULT " + json.dumps(result))


def _run(mode: str, rows: int, env_extra: dict[str, str]) -> dict[str, float]:
    return run_child(__file__, [mode, "--rows", str(rows)], {**env_extra, "CELERY_BROKER_URL": "memory://"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=["submit", "summary"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    with tempfile.TemporaryDirectory() as var_dir:
        submit = _run("submit", 0, {"STAMINA_VAR_DIR": var_dir})
    with tempfile.TemporaryDirectory() as var_dir:
        sqlite = _run("summary", min(args.rows, 100_000), {"STAMINA_VAR_DIR": var_dir})
    db = f"stamina_bench_fb_{os.getpid()}"
    pg: dict[str, float] | None = None
    if subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{db}"'], capture_output=True).returncode == 0:
        try:
            with tempfile.TemporaryDirectory() as var_dir:
                pg = _run(
                    "summary",
                    args.rows,
                    {"STAMINA_VAR_DIR": var_dir, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}"},
                )
        finally:
            subprocess.run(
                ["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'], capture_output=True
            )
    pg_row = (
        (
            f"| summary over {pg['summary_total']:,.0f} rows, PostgreSQL | **{pg['summary_ms']:.0f} ms** median "
            f"(best {pg['summary_best_ms']:.0f} ms) | ≤ 500 ms |\n"
            f"| the same filtered by a flag (reads the items, not the daily counts), PostgreSQL | "
            f"{pg['filtered_ms']:.0f} ms median | (reference) |\n"
        )
        if pg
        else "| PostgreSQL | not reachable | |\n"
    )
    body = f"""Machine: {machine()}. Command: `{command_line()}`.

| measurement | result | target |
|---|---|---|
| `POST /api/feedback/submit` in-process (Bearer auth, throttle, validation, duplicate check, insert, triage job row), {submit["submit_n"]:.0f} requests | p50 {submit["submit_p50_ms"]:.2f} ms, **p95 {submit["submit_p95_ms"]:.2f} ms** | p95 ≤ 20 ms |
{pg_row}| summary over {sqlite["summary_total"]:,.0f} rows, SQLite | {sqlite["summary_ms"]:.0f} ms median | (reference) |

Without a flag/variant filter the summary reads the daily counts that the services keep per dimension (type,
category, status, priority, sentiment, topic, late acknowledgements; rebuilt nightly), plus an indexed count of
unacknowledged items past their target and the accuracy validations. With a flag or variant filter it
aggregates the items themselves (two hash aggregates and a topic GROUP BY). Classification happens in the
triage job, never in the submit path.
"""
    print(body)
    if args.write:
        write_section(args.write, "Feedback", body)


if __name__ == "__main__":
    main()

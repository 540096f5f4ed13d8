"""Recalculation benchmark: the real chunked recalculation (read streams, score, write) over one-hour
activities, against a naive per-object ``save()`` loop, and the 10-year training-load series.

    python bench/bench_recalc.py [--write docs/benchmarks.md] [--n N] [--sqlite-n N] [--naive-n N]
                                 [--postgres URL | --no-postgres]

Each database is measured in its own child process on its own, freshly created database: a temporary SQLite
file, and — when ``--postgres`` or a ``postgres://`` ``DATABASE_URL`` names a server — a new database
``stamina_bench_<pid>`` on that server, dropped afterwards. The dev and CI databases are never touched.
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, command_line, machine, write_section

HEADING = "Recalculation"
ATHLETES = 100
POOL = 400  # distinct synthetic one-hour streams, reused round-robin
TARGET_RATE = 1000.0
TARGET_RATIO = 10.0
TARGET_SERIES_MS = 5.0


# --- child: one database ---------------------------------------------------------------------------------


def _setup(database_url: str, var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "core.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["STAMINA_VAR_DIR"] = var_dir
    os.environ["LOG_LEVEL"] = "error"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["DEBUG"] = "false"  # as in production: no SQL logging
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed(n: int) -> list[int]:
    """``n`` unscored one-hour activities with streams for ATHLETES athletes (each with two dated profiles)."""
    import numpy as np

    from core.models import User
    from training.models import Activity, ActivityStream, HeartRateProfile
    from training.streams import encode_stream
    from training.synthetic import KINDS, simulate_session

    rng = np.random.default_rng(2024)
    pool = []
    for k in range(POOL):
        session = simulate_session(rng, rest=50, max_hr=190, kind=KINDS[k % len(KINDS)], duration_s=3600)
        pool.append((encode_stream(session.times, session.hrs), session.times.size, session.timer_seconds))
    users = User.objects.bulk_create([User(username=f"bench{k}", role="athlete") for k in range(ATHLETES)])
    per_athlete = -(-n // ATHLETES)
    first_day = date(2015, 1, 1)
    HeartRateProfile.objects.bulk_create(
        [
            HeartRateProfile(athlete=u, effective_from=day, resting_hr=rest, max_hr=190, sex="male")
            for u in users
            for day, rest in ((first_day, 52.0), (first_day + timedelta(days=per_athlete // 2), 48.0))
        ]
    )
    made = 0
    batch: list[tuple[Activity, bytes]] = []

    def flush() -> None:
        created = Activity.objects.bulk_create([a for a, _ in batch], batch_size=2000)
        ActivityStream.objects.bulk_create(
            [
                ActivityStream(activity_id=a.pk, data=b, sample_count=a.sample_count)
                for a, (_, b) in zip(created, batch, strict=True)
            ],
            batch_size=1000,
        )
        batch.clear()

    for user in users:  # athlete by athlete, day by day: ids follow time, as imports mostly do
        for d in range(per_athlete):
            if made == n:
                break
            data, samples, timer = pool[made % POOL]
            start = datetime.combine(first_day + timedelta(days=d), datetime.min.time(), tzinfo=UTC)
            batch.append(
                (
                    Activity(
                        athlete=user,
                        start=start + timedelta(hours=7),
                        local_date=start.date(),
                        timer_seconds=timer,
                        source="json",
                        external_id=f"bench:{made}",
                        sample_count=samples,
                    ),
                    data,
                )
            )
            made += 1
            if len(batch) >= 5000:
                flush()
    if batch:
        flush()
    return [u.pk for u in users]


def _flag_on_for_everyone() -> None:
    from rollout import flags
    from rollout.services import flag_update

    flag_update(name="enhanced_trimp_calculation", changes={"everyone": True}, actor=None, source="command")
    flags.reset()


def _fast_run(label: str) -> dict[str, Any]:
    from core.jobs import job_run
    from training.recalculation import recalculation_start

    job = recalculation_start(actor=None, trigger="bench", send=False)
    started = time.perf_counter()
    finished = job_run(job.pk)
    seconds = time.perf_counter() - started
    assert finished is not None and finished.status == "succeeded", finished and finished.error
    result = finished.result
    return {
        "label": label,
        "processed": result["processed"],
        "changed": result["changed"],
        "seconds": seconds,
        "rate": result["processed"] / seconds,
        "compute_seconds": result["compute_seconds"],
        "write_seconds": result["write_seconds"],
    }


def _naive_run(ids: list[int]) -> dict[str, Any]:
    """The straightforward implementation: one activity at a time, each fetched, scored and ``save()``d, its
    day's load recomputed and saved — the same work as the chunked path."""
    from django.db import transaction

    from rollout import flags
    from training.engine import HRProfile, score
    from training.loads import daily_loads_rebuild
    from training.models import Activity, ActivityStream, HeartRateProfile
    from training.streams import decode_stream

    Activity.objects.filter(pk__in=ids).update(trimp=None, trimp_calculation_method="", trimp_method_reason="")
    started = time.perf_counter()
    for activity in Activity.objects.filter(pk__in=ids).order_by("id"):
        stream = ActivityStream.objects.get(activity_id=activity.pk)
        times, hrs = decode_stream(stream.data)
        row = (
            HeartRateProfile.objects.filter(athlete_id=activity.athlete_id, effective_from__lte=activity.local_date)
            .order_by("-effective_from")
            .first()
        )
        profile = HRProfile(rest=row.resting_hr, max=row.max_hr, sex=row.sex)
        enabled, _ = flags.evaluate("enhanced_trimp_calculation", user_id=activity.athlete_id)
        result = score(
            times,
            hrs,
            profile,
            method="auto" if enabled else "average_hr",
            timer_seconds=activity.timer_seconds,
            session_avg_hr=activity.average_hr,
        )
        activity.trimp = result.trimp
        activity.trimp_calculation_method = result.method
        activity.trimp_method_reason = result.reason or "stream_ok"
        activity.hr_stream_sample_count = result.valid_samples
        activity.credited_seconds = result.credited_seconds
        activity.hr_profile_id = row.pk
        activity.engine_version = result.engine_version
        activity.trimp_processed_at = datetime.now(UTC)
        with transaction.atomic():
            activity.save()
            daily_loads_rebuild({(activity.athlete_id, activity.local_date)})
    seconds = time.perf_counter() - started
    return {"processed": len(ids), "seconds": seconds, "rate": len(ids) / seconds}


def _series(repeats: int = 50) -> dict[str, Any]:
    """The 10-year training-load series of one athlete with a load every day, through the selector."""
    import numpy as np

    from core.models import User
    from training.loads import SLOTS
    from training.models import LoadYear
    from training.selectors import training_load_series

    athlete = User.objects.create(username="bench-decade", role="athlete")
    today = date(2024, 12, 31)
    first = date(2015, 1, 1)
    rng = np.random.default_rng(1)
    LoadYear.objects.bulk_create(  # a load on every day of ten years
        [
            LoadYear(
                athlete=athlete,
                year=year,
                loads=rng.gamma(2.0, 40.0, SLOTS).astype("<f8").tobytes(),
                counts=np.ones(SLOTS, dtype="<u2").tobytes(),
            )
            for year in range(first.year, today.year + 1)
        ]
    )
    timings, rows_timings = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        series = training_load_series(athlete_id=athlete.pk, date_from=first, date_to=today)
        timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        series.rows()
        rows_timings.append(time.perf_counter() - started)
    assert series.load.size == 3653 and float(series.ctl[-1]) > 0
    return {
        "days": 3653,
        "median_ms": statistics.median(timings[5:]) * 1000,
        "best_ms": min(timings) * 1000,
        "rows_ms": statistics.median(rows_timings[5:]) * 1000,
    }


def child(database_url: str, n: int, naive_n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as var_dir:
        _setup(database_url, var_dir)
        from django.db import connection

        from training.models import Activity, TrimpSettings

        TrimpSettings.objects.update_or_create(pk=1, defaults={"recalc_parallelism": 0})
        started = time.perf_counter()
        _seed(n)
        seed_seconds = time.perf_counter() - started
        _flag_on_for_everyone()
        first = _fast_run("first run (every activity changes)")
        second = _fast_run("second run (nothing changes)")
        sample = list(Activity.objects.order_by("?").values_list("id", flat=True)[:naive_n])
        naive = _naive_run(sorted(sample))
        series = _series()
        return {
            "vendor": connection.vendor,
            "version": ".".join(str(v) for v in connection.Database.sqlite_version_info)
            if connection.vendor == "sqlite"
            else "{}.{}".format(*divmod(connection.cursor().connection.info.server_version, 10000)),
            "n": n,
            "seed_seconds": seed_seconds,
            "runs": [first, second],
            "naive": naive,
            "ratio": first["rate"] / naive["rate"],
            "series": series,
        }


# --- parent: run the children, write the section ---------------------------------------------------------


def _server_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _run_child(database_url: str, n: int, naive_n: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", database_url, "--n", str(n), "--naive-n", str(naive_n)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_postgres(server: str, n: int, naive_n: int) -> dict[str, Any]:
    import psycopg

    name = f"stamina_bench_{os.getpid()}"
    admin_url = _server_url(server, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return _run_child(_server_url(server, name), n, naive_n)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure_sqlite(n: int, naive_n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        return _run_child(f"sqlite:///{folder}/bench.sqlite3", n, naive_n)


def _ok(passed: bool) -> str:
    return "✓" if passed else "✗ (below target)"


def section(results: list[dict[str, Any]]) -> str:
    lines = [
        f"Machine: {machine()}. Command: `{command_line()}`.",
        "",
        "End to end through the real recalculation job (`training.recalculate`, in-process, one worker, chunks of "
        "1,000): each chunk reads its activities with their streams in one query and their athletes' profiles in "
        "another, scores every activity (flag evaluated per athlete), writes the changed ones in one set-based "
        "UPDATE and rebuilds the affected daily loads, committing with the chunk's claim. One-hour 1 Hz synthetic "
        f"streams (`training.synthetic`), {ATHLETES} athletes with two dated profiles each; every database is "
        "created for the run and dropped after it.",
        "",
        "| database | activities | first run (all change) | second run (none change) | naive `save()` loop | "
        "speed-up | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        first, second = r["runs"]
        naive = r["naive"]
        target = (
            f"≥ {TARGET_RATE:,.0f}/s {_ok(first['rate'] >= TARGET_RATE)}, ≥ {TARGET_RATIO:g}× "
            f"{_ok(r['ratio'] >= TARGET_RATIO)}"
            if r["vendor"] == "postgresql"
            else "reported"
        )
        lines.append(
            f"| {r['vendor']} {r['version']} | {r['n']:,} | **{first['rate']:,.0f}/s** ({first['seconds']:.1f} s; "
            f"compute {first['compute_seconds']:.1f} s, write {first['write_seconds']:.1f} s) | "
            f"{second['rate']:,.0f}/s ({second['seconds']:.1f} s) | {naive['rate']:,.0f}/s "
            f"({naive['processed']:,} activities) | **{r['ratio']:.0f}×** | {target} |"
        )
    lines += [
        "",
        "The naive loop does the same work one activity at a time: fetch the stream, query the profile of the day, "
        "evaluate the flag, score, `save()` the activity and rebuild its day's load (a random sample of the "
        "activities). Seeding (not timed above): "
        + ", ".join(f"{r['vendor']} {r['seed_seconds']:.0f} s" for r in results)
        + ".",
        "",
        "Training-load series, 10 years of daily loads (3,653 days, a load every day) through `training."
        "selectors.training_load_series` (one query for the seeds, the settings and the athlete's year arrays of "
        "daily loads; then CTL/ATL/TSB/ACWR/monotony/strain), median of 45 runs; JSON rows are built by the "
        "view on top:",
        "",
        "| database | series | target | + rows for JSON |",
        "|---|---|---|---|",
    ]
    for r in results:
        s = r["series"]
        lines.append(
            f"| {r['vendor']} | **{s['median_ms']:.2f} ms** (best {s['best_ms']:.2f}) | ≤ {TARGET_SERIES_MS:g} ms "
            f"{_ok(s['median_ms'] <= TARGET_SERIES_MS)} | {s['rows_ms']:.2f} ms |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path)
    parser.add_argument("--n", type=int, default=100_000, help="activities on PostgreSQL")
    parser.add_argument("--sqlite-n", type=int, default=20_000, help="activities on SQLite")
    parser.add_argument("--naive-n", type=int, default=1_000, help="activities for the naive loop")
    parser.add_argument("--postgres", default=None, help="a postgres:// URL of a server to create the database on")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n, args.naive_n)))
        return 0
    results = [measure_sqlite(args.sqlite_n, args.naive_n)]
    server = args.postgres or os.environ.get("STAMINA_BENCH_POSTGRES") or os.environ.get("DATABASE_URL", "")
    if not args.no_postgres and server.startswith(("postgres://", "postgresql://")):
        results.append(measure_postgres(server, args.n, args.naive_n))
    text = section(results)
    print(text)
    if args.write:
        write_section(args.write, HEADING, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Planning benchmark: one 12-week plan generated and scored in-process from the real library; plan jobs
through Redis and a real Celery worker (round trip p95, plans/s with rows written); the 873-exercise import.

    python bench/bench_planning.py [--write docs/benchmarks.md] [--postgres URL] [--redis URL]
                                   [--round-trips N] [--batch N]

Runs in a child process on a PostgreSQL database created for the run (``stamina_bench_planning_<pid>``,
dropped after it) — or a temporary SQLite file when no server is given — with one worker (``-c 1``) on a
private queue of the given Redis. The dev and CI databases are never touched.
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
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, command_line, machine, write_section

HEADING = "Planning"
LIBRARY_FILE = REPO.parent / "shared" / "data" / "exercises" / "free-exercise-db.json"
FOUNDATIONAL = REPO / "planning" / "data" / "movements-foundational.json"
TARGET_GENERATE_MS = 10.0
TARGET_P95_MS = 250.0
TARGET_RATE = 100.0
TARGET_IMPORT_S = 2.0
TARGET_RERUN_S = 1.0
ROUNDS = 3  # batches of --batch jobs timed per configuration
# The same benchmark before the worker path was cut (issue 10), for the before/after; not measured by this script.
BEFORE = (
    "**Before / after.** The same command on the code before issue 10's changes (commit 3d1a7f0), run on this "
    "machine minutes before the run above (load average 1.0 when it started): round trip p95 41 ms (p50 32); "
    "**32 plans/s**, worker CPU 14.7 ms a plan (68/s per free core); `core.ping` 57/s at 8.1 ms a job; with "
    "`DB_SYNCHRONOUS_COMMIT=false` 27 plans/s. (The issue's own figure, on a quiet machine: 25 plans/s at 17.3 ms.) "
    "What changed: the worker reused no database connection (Celery's Django fix-up closed it after every task, "
    "so each job paid a new PostgreSQL backend); a job was claimed, re-read and loaded in three queries and "
    "finished in five; each plan job was its own job with its own library check and commits; every score went "
    "through jsonschema (~0.5 ms); the plan row was compressed with pglz. The margin over 100/s with one pool "
    "process is thin and needs a quiet machine: a run of the same code minutes earlier, with other jobs keeping "
    "the load average at 3.5–4, measured `-c 1` at 84 plans/s (rounds 72–90, worker CPU 6.8 ms a plan) and "
    "`-c 2` at 104/s (102–107). Per plan, one pool process spends ~2 ms of CPU on its job's Celery message (most "
    "of them no-ops) and ~3 ms on the plan, and waits ~2 ms for PostgreSQL to take the 43 kB result row "
    "(docs/planning.md, 'Where a plan job's time goes')."
)
BODY = {
    "weeklyGoalDays": 4,
    "availabilityDays": 5,
    "goals": ["strength", "mobility"],
    "experience": "intermediate",
    "injuries": ["knee"],
    "equipment": ["dumbbell", "barbell", "cable"],
}


def _setup(database_url: str, var_dir: str, broker: str, queue: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DATABASE_URL=database_url,
        STAMINA_VAR_DIR=var_dir,
        LOG_LEVEL="error",
        CELERY_BROKER_URL=broker,
        CELERY_QUEUE=queue,
        DEBUG="false",
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _import(fmt: str, path: Path) -> tuple[float, Any]:
    from planning.services.movements import movements_import, movements_load_file

    started = time.perf_counter()
    loaded = movements_load_file(path=path, fmt=fmt)
    report = movements_import(
        records=loaded.records, source_file=str(path), fmt=fmt, publish=True, actor="bench", unplaced=loaded.unplaced
    )
    return time.perf_counter() - started, report


def _generation(repeats: int) -> dict[str, Any]:
    """Median in-process generation + scoring of one 12-week plan, from the real library and from the 8."""
    from datetime import UTC, datetime

    from planning.engine.generator import Library, generate_plan
    from planning.engine.scoring import score_plan
    from planning.selectors import library_specs
    from planning.services.plans import plan_request_from

    library = library_specs()
    foundational = [m for m in library if m.movement_id in _foundational_ids()]
    results = {}
    for label, movements in (("real", library), ("foundational", foundational)):
        index = Library(movements)  # as the job gets it: indexed once per process (planning.selectors)
        timings, cpu = [], []
        for seed in range(repeats):
            request = plan_request_from({**BODY, "durationWeeks": 12, "seed": seed})
            started, started_cpu = time.perf_counter(), time.process_time()
            plan = generate_plan(request, index)
            score_plan(plan, weekly_goal_days=4, availability_days=5, evaluated_at=datetime.now(UTC))
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        results[label] = {
            "movements": len(movements),
            "median_ms": statistics.median(timings),
            "p95_ms": _p95(timings),
            "cpu_ms": statistics.median(cpu),
        }
    return results


def _foundational_ids() -> set[str]:
    return {m["movement_id"] for m in json.loads(FOUNDATIONAL.read_text())["movements"]}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _worker(
    database_url: str,
    var_dir: str,
    broker: str,
    queue: str,
    extra: dict[str, str] | None = None,
    concurrency: int = 1,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "DATABASE_URL": database_url,
        "STAMINA_VAR_DIR": var_dir,
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "LOG_LEVEL": "error",
        "DEBUG": "false",
        "STAMINA_PROCESS_ROLE": "worker",
        "DB_CONN_MAX_AGE": "600",  # persistent connections, as a production worker runs (README: DB_CONN_MAX_AGE)
    }
    env.update(extra or {})
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "celery", "-A", "core", "worker", "-Q", queue, "--pool", "prefork"]
    command += ["-c", str(concurrency)]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "error"]
    return subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (SIGTERM); the whole process group is killed if it takes more than a minute."""
    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, 9)
        worker.wait(timeout=30)


def _group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every process of the worker's process group (Linux /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, …, utime (11), stime (12)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _jobs(
    round_trips: int,
    batch: int,
    queued_messages: Any,
    kind_peer: bool = False,
    worker_pgid: int | None = None,
) -> dict[str, Any]:
    """Round trips one at a time (p50/p95), then ``batch`` requests at once: plans/s until all rows are done.

    Plan jobs run in batches, so their rows can be done while the messages of jobs claimed by a batch still wait
    in the queue (each a no-op for the worker). The worker CPU counts until the queue is empty too, and so does
    the second rate (``drained_rate``), so neither leaves those messages out.
    """
    from django.db import transaction

    from core.jobs import job_enqueue
    from core.models import Job, User
    from planning.models import PlanJob
    from planning.services.plans import plan_job_request

    load = os.getloadavg()[0]
    user, _ = User.objects.get_or_create(username="bench-athlete", defaults={"role": "athlete"})

    def request(seed: int) -> Any:
        if kind_peer:
            return job_enqueue(kind="core.ping", params={"echo": seed})
        return plan_job_request(requester=user, data={**BODY, "userId": user.pk, "seed": seed})[0]

    def done(obj: Any) -> bool:
        if kind_peer:
            return Job.objects.filter(pk=obj.pk, status__in=["succeeded", "failed"]).exists()
        return PlanJob.objects.filter(pk=obj.pk, status__in=["completed", "failed"]).exists()

    latencies = []
    for seed in range(round_trips + 5):
        started = time.perf_counter()
        with transaction.atomic():
            obj = request(seed)
        while not done(obj):
            time.sleep(0.001)
        if seed >= 5:  # the first few warm the worker's imports and caches
            latencies.append((time.perf_counter() - started) * 1000)
    model = Job if kind_peer else PlanJob
    finished = ["succeeded", "failed"] if kind_peer else ["completed", "failed"]
    rounds = []
    for round_index in range(ROUNDS):  # the machine is shared: the median of a few rounds, and their spread
        cpu_before = _group_cpu_seconds(worker_pgid) if worker_pgid else 0.0
        started = time.perf_counter()
        objs = []
        for seed in range(batch):
            with transaction.atomic():
                objs.append(request(10_000 * (round_index + 1) + seed))
        pks = [o.pk for o in objs]
        while model.objects.filter(pk__in=pks, status__in=finished).count() < batch:
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        while queued_messages():
            time.sleep(0.01)
        drained = time.perf_counter() - started
        time.sleep(0.2)  # the last messages taken from the queue finish (no-ops)
        cpu_ms = (_group_cpu_seconds(worker_pgid) - cpu_before) * 1000 / batch if worker_pgid else 0.0
        failed = model.objects.filter(pk__in=pks, status="failed").count()
        rounds.append({"rate": batch / seconds, "drained_rate": batch / drained, "cpu_ms": cpu_ms, "failed": failed})
    rates = sorted(r["rate"] for r in rounds)
    return {
        "load": load,
        "rate": statistics.median(rates),
        "rates": rates,
        "drained_rate": statistics.median(r["drained_rate"] for r in rounds),
        "worker_cpu_ms": statistics.median(r["cpu_ms"] for r in rounds),
        "p50_ms": statistics.median(latencies),
        "p95_ms": _p95(latencies),
        "batch": batch,
        "failed": sum(r["failed"] for r in rounds),
    }


def child(database_url: str, broker: str, round_trips: int, batch: int) -> dict[str, Any]:
    load = os.getloadavg()[0]
    from_scratch: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as var_dir:
        queue = f"bench-planning-{os.getpid()}"
        _setup(database_url, var_dir, broker, queue)
        from django.db import connection

        from planning.models import Movement, PlanJob
        from rollout import flags
        from rollout.services import flag_update

        first_seconds, first = _import("free-exercise-db", LIBRARY_FILE)
        rerun_seconds, rerun = _import("free-exercise-db", LIBRARY_FILE)
        _import("stamina", FOUNDATIONAL)
        from_scratch.update(
            import_s=first_seconds,
            created=first.created,
            unplaced=len(first.unplaced),
            rerun_s=rerun_seconds,
            rerun_unchanged=rerun.unchanged,
        )
        flag_update(name="v1_planning_scoring", changes={"everyone": True}, actor=None, source="command")
        flags.reset()
        generation = _generation(200)
        import redis

        broker_client = redis.Redis.from_url(broker)

        def queued_messages() -> int:
            return int(broker_client.llen(queue))

        worker = _worker(database_url, var_dir, broker, queue)
        try:
            peer = _jobs(round_trips, batch, queued_messages, kind_peer=True, worker_pgid=worker.pid)
            plans = _jobs(round_trips, batch, queued_messages, worker_pgid=worker.pid)
        finally:
            _stop(worker)
        async_plans = None
        if connection.vendor == "postgresql":
            worker = _worker(database_url, var_dir, broker, queue, {"DB_SYNCHRONOUS_COMMIT": "false"})
            try:
                async_plans = _jobs(round_trips, batch, queued_messages, worker_pgid=worker.pid)
            finally:
                _stop(worker)
        worker = _worker(database_url, var_dir, broker, queue, concurrency=2)  # the Procfile's default
        try:
            two_processes = _jobs(round_trips, batch, queued_messages, worker_pgid=worker.pid)
        finally:
            _stop(worker)
        scored = PlanJob.objects.filter(status="completed", score_total__isnull=False).count()
        return {
            "load": load,
            "vendor": connection.vendor,
            "library": Movement.objects.filter(status="published").count(),
            "import": from_scratch,
            "generation": generation,
            "plans": plans,
            "async_plans": async_plans,
            "two_processes": two_processes,
            "peer": peer,
            "scored": scored,
        }


def _server_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def _run_child(database_url: str, broker: str, round_trips: int, batch: int) -> dict[str, Any]:
    args = ["--child", database_url, "--redis", broker, "--round-trips", str(round_trips), "--batch", str(batch)]
    result = subprocess.run([sys.executable, __file__, *args], cwd=REPO, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def measure(server: str | None, broker: str, round_trips: int, batch: int) -> dict[str, Any]:
    if not server:
        with tempfile.TemporaryDirectory() as folder:
            return _run_child(f"sqlite:///{folder}/bench.sqlite3", broker, round_trips, batch)
    import psycopg

    name = f"stamina_bench_planning_{os.getpid()}"
    admin_url = _server_url(server, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return _run_child(_server_url(server, name), broker, round_trips, batch)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ok(passed: bool) -> str:
    return "✓" if passed else "✗ (misses the target)"


def _rate_cell(jobs: dict[str, Any]) -> str:
    spread = "–".join(f"{rate:.0f}" for rate in (jobs["rates"][0], jobs["rates"][-1]))
    return (
        f"**{jobs['rate']:.0f} plans/s** (median of {len(jobs['rates'])} rounds, {spread}; {jobs['failed']} failed; "
        f"every message consumed: {jobs['drained_rate']:.0f}/s); worker CPU {jobs['worker_cpu_ms']:.1f} ms a plan → "
        f"{1000 / max(jobs['worker_cpu_ms'], 0.01):.0f}/s per free core; load {jobs['load']:.1f}"
    )


def section(r: dict[str, Any]) -> str:
    gen, imp, plans, peer = r["generation"], r["import"], r["plans"], r["peer"]
    real, small = gen["real"], gen["foundational"]
    rows = [
        f"| generate + score one 12-week plan, in-process, from the real library ({real['movements']} published) | "
        f"**{real['median_ms']:.2f} ms** median wall (p95 {real['p95_ms']:.2f}; CPU {real['cpu_ms']:.2f} ms) | "
        f"≤ {TARGET_GENERATE_MS:g} ms {_ok(real['median_ms'] <= TARGET_GENERATE_MS)} | from the 8 foundational "
        f"movements: {small['median_ms']:.2f} ms ({real['median_ms'] / small['median_ms']:.1f}×) |",
        f"| plan job round trip (request service → Redis → worker → completed row) | **p95 {plans['p95_ms']:.0f} ms** "
        f"(p50 {plans['p50_ms']:.0f}) | p95 ≤ {TARGET_P95_MS:g} ms {_ok(plans['p95_ms'] <= TARGET_P95_MS)} | "
        f"`core.ping` job: p95 {peer['p95_ms']:.0f} ms (p50 {peer['p50_ms']:.0f}) |",
        f"| plans end to end, {plans['batch']} queued at once, rows written (scored), `-c 1` | {_rate_cell(plans)} | "
        f"≥ {TARGET_RATE:g}/s {_ok(plans['rate'] >= TARGET_RATE)} | `core.ping` jobs: {peer['rate']:.0f}/s "
        f"({plans['rate'] / peer['rate']:.2f}×), worker CPU {peer['worker_cpu_ms']:.1f} ms a job; "
        f"load {peer['load']:.1f} |",
    ]
    fast = r.get("async_plans")
    if fast:
        rows.append(
            f"| the same, worker with `DB_SYNCHRONOUS_COMMIT=false`, `-c 1` | p95 **{fast['p95_ms']:.0f} ms** (p50 "
            f"{fast['p50_ms']:.0f}); {_rate_cell(fast)} | p95 {_ok(fast['p95_ms'] <= TARGET_P95_MS)}, "
            f"rate {_ok(fast['rate'] >= TARGET_RATE)} | synchronous commits: {plans['rate']:.0f} plans/s |"
        )
    two = r.get("two_processes")
    if two:
        rows.append(
            f"| the same with one worker of **two** pool processes (`celery worker -c 2`, the Procfile's default) | "
            f"p95 **{two['p95_ms']:.0f} ms** (p50 {two['p50_ms']:.0f}); {_rate_cell(two)} | "
            f"p95 {_ok(two['p95_ms'] <= TARGET_P95_MS)}, rate {_ok(two['rate'] >= TARGET_RATE)} | "
            f"`-c 1`: {plans['rate']:.0f} plans/s |"
        )
    rows += [
        f"| import `free-exercise-db.json` (873 exercises → {imp['created']} movements, {imp['unplaced']} not "
        f"placed), empty library | **{imp['import_s']:.2f} s** | ≤ {TARGET_IMPORT_S:g} s "
        f"{_ok(imp['import_s'] <= TARGET_IMPORT_S)} | — |",
        f"| the same import again ({imp['rerun_unchanged']} unchanged, no audit row) | **{imp['rerun_s']:.2f} s** | "
        f"≤ {TARGET_RERUN_S:g} s {_ok(imp['rerun_s'] <= TARGET_RERUN_S)} | first import {imp['import_s']:.2f} s "
        f"({imp['import_s'] / imp['rerun_s']:.1f}×) |",
    ]
    notes = (
        "The request: 4 sessions a week of 5 available, strength + mobility, intermediate, a knee injury, "
        "dumbbell/barbell/cable; `v1_planning_scoring` on for everyone, so every plan is scored and its payload "
        "checked against the contract before the row is written. A round trip is timed from the request service's "
        f"commit (which sends the message) to the completed row, polled every millisecond; {r['scored']} plans were "
        "scored. Plan jobs run in batches: a message claims its job and up to `JOB_BATCH_MAX` − 1 (19) other queued "
        "plan jobs (two UPDATE … RETURNING), reads their rows and checks the library once, then writes every result "
        "and finishes every core job in one transaction; the other jobs' messages are one-statement no-ops. Each "
        "rate is the median of three rounds of the batch (the spread in brackets); a round counts until every row "
        "is written, its 'every message consumed' rate until the queue is empty too, and "
        "the worker CPU (user + system time of the worker's processes, Celery parent and pool children, the "
        "database server aside) is taken over that longer span, per plan. With a load average near or above the "
        "machine's two cores, wall time is largely waiting for a core (the request loop, PostgreSQL, Redis and "
        "other jobs share them), so the worker-CPU figure says what one free core would sustain; the `core.ping` "
        "column is the job pattern's own cost (not batched). The import timings include reading and mapping the "
        "file, staging, validating every record and the all-or-nothing apply with its audit rows."
    )
    header = (
        f"Machine: {machine()}, load average {r['load']:.1f} when it started. Command: `{command_line()}`. "
        f"Database: {r['vendor']} (created for the run); broker: Redis; one worker, prefork, with one pool process "
        "(`celery worker -c 1`) unless a row says `-c 2`. The machine is shared with other jobs, so wall figures are "
        "noisy (each row gives the load average when it started); each peer ran in the same process minutes apart."
    )
    table = ["| what | measured | target | peer (same run) |", "|---|---|---|---|", *rows]
    return "\n".join([header, "", *table, "", notes, "", BEFORE]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path)
    parser.add_argument("--postgres", default=None, help="a postgres:// URL of a server to create the database on")
    parser.add_argument("--redis", default=os.environ.get("STAMINA_BENCH_REDIS", "redis://127.0.0.1:6379/3"))
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.redis, args.round_trips, args.batch)))
        return 0
    if not LIBRARY_FILE.exists():
        print(f"skipped: {LIBRARY_FILE} not found")
        return 0
    server = args.postgres or os.environ.get("STAMINA_BENCH_POSTGRES") or os.environ.get("DATABASE_URL", "")
    result = measure(
        server if server.startswith(("postgres://", "postgresql://")) else None,
        args.redis,
        args.round_trips,
        args.batch,
    )
    text = section(result)
    print(text)
    if args.write:
        write_section(args.write, HEADING, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

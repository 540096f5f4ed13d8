"""Load scenario: the sustained requests/s a single web process holds at p95 < 300 ms with 0 errors.

Starts the real processes the Procfile starts — uvicorn (one process, 127.0.0.1 only, ``--no-access-log``: our
access logger writes to a rotated LOG_FILE) and a Celery worker — on a fresh database seeded with
``seed_demo`` (SQLite under a temporary folder; PostgreSQL too when ``STAMINA_BENCH_POSTGRES`` names a server,
in a database of its own that is dropped afterwards), then drives a realistic mix from a bounded open-loop
asyncio/httpx client: requests start on a fixed schedule (so a slow server cannot slow the offered load) and
latency is measured from the scheduled start. Steps double the rate until a step fails, then bisect twice;
every step is bounded in time and the whole run stops by itself.

python bench/bench_load.py [--write docs/benchmarks.md] [--step-seconds 20] [--max-steps 8] [--start-rps 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import REPO, machine, write_section
from training.importers import parse  # pure parsers (no Django)

HEADING = "Load: sustained requests/s at p95 < 300 ms (bench_load.py)"
P95_LIMIT_MS = 300.0
TIMEOUT_S = 10.0
MAX_IN_FLIGHT = 256
MIN_REQUESTS = 60
SHARED = REPO.parent / "shared" / "data" / "activities"
GPX_FILES = ("sweatpy__activity_5039744860.gpx", "sport-activities-features__riderx3.gpx")

# (name, weight): the mix of one athlete-facing client population.
MIX = (
    ("list activities", 25),
    ("activity detail", 15),
    ("training load (90 days)", 15),
    ("flags (flag-gated answers)", 15),
    ("upload JSON stream", 7),
    ("upload GPX file", 5),
    ("submit feedback", 10),
    ("my feedback", 8),
)


@dataclass
class Athlete:
    id: int
    token: str
    activity_ids: list[int] = field(default_factory=list)


@dataclass
class StepResult:
    target_rps: float
    seconds: float
    sent: int
    ok: int
    errors: int
    latencies_ms: list[float]
    by_kind: dict[str, int]
    error_samples: list[str]
    latencies_by_kind: dict[str, list[float]] = field(default_factory=dict)
    load_average: float = float("nan")
    web_cpu_seconds: float = float("nan")

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.web_cpu_seconds / self.sent if self.sent else float("nan")

    def pct(self, q: float, kind: str | None = None) -> float:
        values = self.latencies_ms if kind is None else self.latencies_by_kind.get(kind, [])
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def achieved_rps(self) -> float:
        return self.ok / self.seconds

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.pct(95) < P95_LIMIT_MS and self.sent > 0


# --- The system under test --------------------------------------------------------------------------------


def _run(cmd: list[str], env: dict[str, str], log: Path, timeout: float = 900) -> str:
    with log.open("a") as sink:
        sink.write(f"$ {' '.join(cmd)}\n")
        sink.flush()
        result = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=sink, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed; see {log}")
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_TOKENS = """
import json
from core.services import token_create
from core.models import User
out = []
for user in User.objects.filter(username__in=["athlete", "beta1", "beta2"] + [f"athlete{n:02d}" for n in range(1, 37)]):
    out.append({"id": user.pk, "token": token_create(user=user)[1]})
print("TOKENS " + json.dumps(out))
"""


class System:
    """uvicorn + a Celery worker on a fresh seeded database; everything stopped and removed by ``close``."""

    def __init__(self, tier: str, postgres_server: str | None, work: Path, web_workers: int) -> None:
        self.tier = tier
        self.web_workers = web_workers
        self.work = work
        self.log = work / "system.log"
        self.port = _free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pg_db: str | None = None
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL")}
        env.update(
            DJANGO_SETTINGS_MODULE="core.settings",
            DJANGO_ENV="development",
            DEBUG="false",
            STAMINA_VAR_DIR=str(work / "var"),
            LOG_FILE=str(work / "logs" / "stamina.log"),
            LOG_LEVEL="info",
            THROTTLE_USER="1000000/min",
            THROTTLE_ANON="1000000/min",
            THROTTLE_FEEDBACK="1000000/hour",
            CELERY_QUEUE=f"bench-{uuid.uuid4().hex[:6]}",
        )
        if tier == "postgresql":
            assert postgres_server
            self.pg_db = f"stamina_ops_bench_{uuid.uuid4().hex[:6]}"
            subprocess.run(["psql", postgres_server, "-qc", f"create database {self.pg_db}"], check=True)
            env["DATABASE_URL"] = postgres_server.rsplit("/", 1)[0] + "/" + self.pg_db
            self.postgres_server = postgres_server
        else:
            env["DATABASE_URL"] = f"sqlite:///{work / 'stamina.sqlite3'}"
        self.env = env

    def prepare(self) -> list[Athlete]:
        python = sys.executable
        started = time.monotonic()
        _run([python, "manage.py", "migrate", "--noinput", "-v", "0"], self.env, self.log)
        _run([python, "manage.py", "seed_demo"], self.env, self.log)
        out = _run([python, "manage.py", "shell", "-c", _TOKENS], self.env, self.log)
        self.setup_seconds = time.monotonic() - started
        line = next(x for x in out.splitlines() if x.startswith("TOKENS "))
        return [Athlete(id=a["id"], token=a["token"]) for a in json.loads(line[len("TOKENS ") :])]

    def start(self) -> str:
        python = sys.executable
        web = [python, "-m", "uvicorn", "core.asgi:application", "--host", "127.0.0.1", "--port", str(self.port)]
        web += ["--workers", str(self.web_workers)]
        worker = [python, "-m", "celery", "-A", "core", "worker", "-l", "warning", "--concurrency", "2"]
        worker += ["--without-gossip", "--without-mingle", "-Q", self.env["CELERY_QUEUE"]]
        for role, cmd in (("web", [*web, "--no-access-log"]), ("worker", worker)):
            sink = (self.work / f"{role}.log").open("ab")
            env = {**self.env, "STAMINA_PROCESS_ROLE": role}
            self.procs.append(
                subprocess.Popen(cmd, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
            )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code in (200, 503):
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"uvicorn did not answer on {base}; see {self.work / 'web.log'}")

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if self.pg_db:
            subprocess.run(["psql", self.postgres_server, "-qc", f"drop database if exists {self.pg_db} with (force)"])


def session_cpu_seconds(session_id: int) -> float:
    """User + system CPU seconds of every process in a session (the web process and any uvicorn children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id:  # field 6 of stat: the session id
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / tick


# --- The client -------------------------------------------------------------------------------------------


def _real_streams() -> list[tuple[list[float], list[float | None]]]:
    """Time/HR streams of the real device files (parsed by our importers), sent as Strava-shaped JSON."""

    streams = []
    for name in ("python-fitparse__activity-small-fenix2-run.fit", "sweatpy__activity_5039744860.tcx", *GPX_FILES):
        parsed = parse((SHARED / name).read_bytes(), filename=name)
        times = [float(t) for t in parsed.times]
        hrs = [None if h != h else float(h) for h in parsed.hrs]
        streams.append((times, hrs))
    return streams


class Client:
    def __init__(self, base: str, athletes: list[Athlete], web_session: int) -> None:
        self.base = base
        self.web_session = web_session
        self.athletes = athletes
        self.rng = random.Random(7)
        self.streams = _real_streams()
        self.gpx = [(name, (SHARED / name).read_bytes()) for name in GPX_FILES]
        self.kinds = [name for name, weight in MIX for _ in range(weight)]
        self.upload_seq = 0
        self.today = date.today()

    async def discover(self, http: httpx.AsyncClient) -> None:
        for athlete in self.athletes:
            response = await http.get(
                f"{self.base}/api/v1/activities?page_size=50", headers=self._auth(athlete), timeout=30
            )
            response.raise_for_status()
            athlete.activity_ids = [item["id"] for item in response.json()["results"]]

    def _auth(self, athlete: Athlete) -> dict[str, str]:
        return {"Authorization": f"Bearer {athlete.token}"}

    async def one(self, http: httpx.AsyncClient, kind: str) -> httpx.Response:
        athlete = self.rng.choice(self.athletes)
        headers = self._auth(athlete)
        url = self.base
        if kind == "list activities":
            return await http.get(f"{url}/api/v1/activities?page_size=20", headers=headers)
        if kind == "activity detail" and athlete.activity_ids:
            return await http.get(f"{url}/api/v1/activities/{self.rng.choice(athlete.activity_ids)}", headers=headers)
        if kind == "training load (90 days)":
            since = self.today - timedelta(days=90)
            query = f"from={since.isoformat()}&to={self.today.isoformat()}"
            return await http.get(f"{url}/api/v1/athletes/{athlete.id}/training-load?{query}", headers=headers)
        if kind == "upload JSON stream":
            self.upload_seq += 1
            times, hrs = self.rng.choice(self.streams)
            start = datetime.now(UTC) - timedelta(days=self.rng.randint(1, 300), seconds=self.upload_seq)
            body = {"streams": {"time": {"data": times}, "heartrate": {"data": hrs}}, "start": start.isoformat()}
            return await http.post(f"{url}/api/v1/activities", json=body, headers=headers)
        if kind == "upload GPX file":
            name, content = self.rng.choice(self.gpx)
            files = {"file": (name, content, "application/gpx+xml")}
            return await http.post(f"{url}/api/v1/activities", files=files, headers=headers)
        if kind == "submit feedback":
            self.upload_seq += 1
            body = {
                "type": self.rng.choice(["general_feedback", "bug_report", "satisfaction_survey"]),
                "message": f"Load test note {uuid.uuid4().hex[:8]}: the weekly chart loads slowly sometimes",
                "rating": self.rng.randint(1, 5),
            }
            return await http.post(f"{url}/api/feedback/submit", json=body, headers=headers)
        if kind == "my feedback":
            return await http.get(f"{url}/api/feedback/mine?page_size=20", headers=headers)
        return await http.get(f"{url}/api/v1/flags", headers=headers)

    async def step(self, rps: float, seconds: float) -> StepResult:
        latencies: list[float] = []
        latencies_by_kind: dict[str, list[float]] = {}
        by_kind: dict[str, int] = {}
        errors: list[str] = []
        ok = 0
        in_flight = 0
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)

        async with httpx.AsyncClient(limits=limits, timeout=TIMEOUT_S) as http:

            async def fire(kind: str, scheduled: float) -> None:
                nonlocal ok, in_flight
                try:
                    response = await self.one(http, kind)
                    if response.status_code >= 400:
                        errors.append(f"{kind}: HTTP {response.status_code} {response.text[:160]}")
                    else:
                        ok += 1
                        latency = (time.monotonic() - scheduled) * 1000
                        latencies.append(latency)
                        latencies_by_kind.setdefault(kind, []).append(latency)
                except httpx.HTTPError as exc:
                    errors.append(f"{kind}: {type(exc).__name__} {exc}"[:200])
                finally:
                    in_flight -= 1

            total = int(rps * seconds)
            load_average = os.getloadavg()[0]
            cpu_before = session_cpu_seconds(self.web_session)
            started = time.monotonic()
            tasks = []
            for n in range(total):
                scheduled = started + n / rps
                delay = scheduled - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                kind = self.rng.choice(self.kinds)
                if in_flight >= MAX_IN_FLIGHT:  # the server fell this far behind: the step has failed
                    errors.append(f"{kind}: client gave up ({MAX_IN_FLIGHT} requests in flight)")
                    continue
                by_kind[kind] = by_kind.get(kind, 0) + 1
                in_flight += 1
                tasks.append(asyncio.create_task(fire(kind, scheduled)))
            await asyncio.gather(*tasks)
        return StepResult(
            rps,
            seconds,
            total,
            ok,
            len(errors),
            latencies,
            by_kind,
            errors[:5],
            latencies_by_kind,
            load_average,
            session_cpu_seconds(self.web_session) - cpu_before,
        )


async def _search(client: Client, start_rps: float, step_seconds: float, max_steps: int) -> list[StepResult]:
    async with httpx.AsyncClient(timeout=30) as http:
        await client.discover(http)
    await client.step(2, 5)  # warm-up: imports, caches, connections
    results: list[StepResult] = []
    rate, best, worst = start_rps, None, None
    while len(results) < max_steps:
        # At least MIN_REQUESTS per step, so a p95 rests on enough samples at low rates.
        result = await client.step(rate, max(step_seconds, MIN_REQUESTS / rate))
        results.append(result)
        status = "pass" if result.passed else "FAIL"
        print(
            f"  {rate:7.1f} rps: p50 {result.pct(50):6.1f} p95 {result.pct(95):6.1f} p99 {result.pct(99):7.1f} ms, "
            f"errors {result.errors} → {status}",
            flush=True,
        )
        if result.passed:
            best = rate
        else:
            worst = rate
        if worst is None:
            rate *= 2
        elif best is None:
            rate /= 2
        else:
            if worst - best <= max(0.25, best * 0.1):
                break
            rate = round((best + worst) / 2, 2)
        await asyncio.sleep(3)  # let queues drain between steps
    return results


def run_tier(tier: str, postgres_server: str | None, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"stamina-bench-load-{tier}-"))
    system = System(tier, postgres_server, work, args.web_workers)
    try:
        print(f"[{tier}] migrate + seed_demo in {work}", flush=True)
        athletes = system.prepare()
        base = system.start()
        client = Client(base, athletes, system.procs[0].pid)
        results = asyncio.run(_search(client, args.start_rps, args.step_seconds, args.max_steps))
        log_lines = (
            sum(1 for _ in (work / "logs" / "stamina.log").open()) if (work / "logs" / "stamina.log").exists() else 0
        )
        return {"tier": tier, "results": results, "setup_s": system.setup_seconds, "log_lines": log_lines}
    finally:
        system.close()
        shutil.rmtree(work, ignore_errors=True)


def _section(tiers: list[dict[str, Any]], args: argparse.Namespace) -> str:
    mix = ", ".join(f"{name} {weight} %" for name, weight in MIX)
    lines = [
        f"Machine: {machine()}, shared with other work while it ran (the load average of each step is in its row: "
        "above 2 the server had less than the machine; the rates are a floor, the CPU per request is steadier).",
        f"Command: `python bench/bench_load.py --step-seconds {args.step_seconds:g} --max-steps {args.max_steps} "
        f"--start-rps {args.start_rps:g} --web-workers {args.web_workers}` (`make bench` runs the defaults).",
        f"System: uvicorn with {args.web_workers} worker process(es) (`--no-access-log`; our access log to a "
        "rotated `LOG_FILE`) and one Celery "
        "worker (concurrency 2, filesystem broker), on 127.0.0.1, on a fresh database seeded by `seed_demo` "
        "(41 users, ~1,200 activities); throttles raised so only the server's capacity limits.",
        f"Mix (39 athletes' Bearer tokens, at random): {mix}. Uploads are the real device files' streams as JSON "
        "(FIT/TCX/GPX parsed by our importers, a new start each time, so each creates and scores an activity) and "
        "the real GPX files as multipart (the first per athlete creates, then the same file is answered as a "
        "duplicate); feedback submits queue a triage job the worker runs.",
        f"Method: open-loop client (asyncio + httpx, requests start on schedule, latency from the scheduled "
        f"start, {TIMEOUT_S:g} s timeout, at most {MAX_IN_FLIGHT} in flight); each step lasts "
        f"{args.step_seconds:g} s (longer at low rates: {MIN_REQUESTS} requests at least); the rate doubles until a step fails (p95 ≥ {P95_LIMIT_MS:g} ms or any error), "
        f"then bisects; {args.max_steps} steps at most.",
        "",
    ]
    summary = []
    for tier in tiers:
        passing = [r for r in tier["results"] if r.passed]
        best = max(passing, key=lambda r: r.target_rps) if passing else None
        tier["best"] = best
        lines.append(f"### {tier['tier']}")
        lines.append("")
        if best:
            lines.append(
                f"**Sustained: {best.target_rps:g} requests/s** (achieved {best.achieved_rps:.1f}/s) with 0 errors: "
                f"p50 {best.pct(50):.0f} ms, p95 {best.pct(95):.0f} ms, p99 {best.pct(99):.0f} ms over {best.sent} requests."
            )
            summary.append((tier["tier"], best.target_rps))
            per_kind = ", ".join(
                f"{name} {best.pct(50, name):.0f}/{best.pct(95, name):.0f}" for name, _ in MIX if name in best.by_kind
            )
            lines.append(f"At that rate, p50/p95 ms by request: {per_kind}.")
            cpu = statistics.median(r.cpu_ms_per_request for r in tier["results"])
            lines.append(
                f"The web process spent a median {cpu:.0f} ms of CPU per request over the steps: on a core of its own "
                f"one process could serve about {1000 / cpu:.0f} requests/s of this mix (an estimate; Django's sync "
                "views run on one thread per uvicorn process, so more processes scale it over more cores)."
            )
        else:
            lines.append(f"**No step passed** (lowest tried {min(r.target_rps for r in tier['results']):g} rps).")
        lines += [
            "",
            "| offered rps | requests | errors | p50 ms | p95 ms | p99 ms | web CPU ms/request | load avg | verdict |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in sorted(tier["results"], key=lambda r: r.target_rps):
            verdict = "pass" if r.passed else "fail"
            lines.append(
                f"| {r.target_rps:g} | {r.sent} | {r.errors} | {r.pct(50):.0f} | {r.pct(95):.0f} | {r.pct(99):.0f} "
                f"| {r.cpu_ms_per_request:.0f} | {r.load_average:.1f} | {verdict} |"
            )
        failed = next((r for r in sorted(tier["results"], key=lambda r: r.target_rps) if not r.passed), None)
        if failed and failed.error_samples:
            lines += [
                "",
                f"First errors at {failed.target_rps:g} rps: " + "; ".join(f"`{e}`" for e in failed.error_samples[:3]),
            ]
        lines.append("")
    if len(summary) == 2 and summary[0][1]:
        lines.append(f"PostgreSQL / SQLite sustained-rate ratio in this run: {summary[1][1] / summary[0][1]:.2f}.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--step-seconds", type=float, default=20.0)
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--start-rps", type=float, default=4.0)
    parser.add_argument("--tiers", default="sqlite,postgresql")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn --workers (the Procfile runs 1)")
    args = parser.parse_args()
    args.max_steps = min(args.max_steps, 8)
    if not SHARED.is_dir():
        print(f"shared activity files not found at {SHARED}", file=sys.stderr)
        return 1
    postgres = os.environ.get("STAMINA_BENCH_POSTGRES")
    tiers = []
    for tier in [t.strip() for t in args.tiers.split(",") if t.strip()]:
        if tier == "postgresql" and not postgres:
            print("PostgreSQL tier skipped: STAMINA_BENCH_POSTGRES is not set", flush=True)
            continue
        tiers.append(run_tier(tier, postgres, args))
    write_section(args.write, HEADING, _section(tiers, args))
    print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

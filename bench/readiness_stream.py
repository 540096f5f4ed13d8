"""The readiness SSE stream under uvicorn, and its server-side cost layer by layer (used by bench_readiness.py).

``child_stream``: a fresh database (SQLite, or PostgreSQL through ``DATABASE_URL``) with ``clients`` athletes,
then uvicorn started as the Procfile's web process (one process, ``--no-access-log``, ``DEBUG`` off, our
access log at INFO to a rotated file, the metrics flush thread, ``DB_CONN_MAX_AGE=60``), then three loads:

- ``sequential``: one client, one stream after another — the unloaded latency;
- ``closed``: ``clients`` clients each sending its next request as soon as its stream ends (zero think time):
  a saturation test, whose latency is ~``clients`` × the service time / the cores used, whatever the code;
  read it as throughput;
- ``think``: ``clients`` clients, each holding its keep-alive connection and sending its next request after
  a think time drawn uniformly from 0.5-1.0 s (the first after 0-1 s, so they do not start in step) — what
  ``clients`` app users do; the offered rate is about ``clients`` / 0.75 s.

``child_layers``: the same stream request driven in-process through the ASGI application (no uvicorn, no
network), one after another, with one change added at a time from the code before issue 11 to today's; CPU
and wall milliseconds per stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench.sse_client import SseConnection

PATH = "/api/v1/recommendations/pre-session/stream"
BODY = json.dumps({"sleep_hours": 7, "energy_level": 4, "stress_level": 2, "soreness": 2}).encode()
THINK_SECONDS = (0.5, 1.0)
SEQUENTIAL_REQUESTS = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    port: int, tokens: list[str], rounds: int, think: tuple[float, float] | None, seed: int
) -> dict[str, Any]:
    """Each token is one client with its own connection; ``rounds`` streams each."""
    first: list[float] = []
    whole: list[float] = []
    errors = 0
    rng = random.Random(seed)

    async def client(token: str) -> None:
        nonlocal errors
        connection = SseConnection("127.0.0.1", port)
        if think:
            await asyncio.sleep(rng.uniform(0, 1))
        try:
            for index in range(rounds):
                if think and index:
                    await asyncio.sleep(rng.uniform(*think))
                started = time.perf_counter()
                try:
                    status, got_first, body = await connection.post(PATH, BODY, token)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    continue
                end = time.perf_counter()
                if status != 200 or b"event: done" not in body:
                    errors += 1
                    continue
                first.append(((got_first or end) - started) * 1000)
                whole.append((end - started) * 1000)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(token) for token in tokens))
    elapsed = time.perf_counter() - started
    return {"first": first, "whole": whole, "errors": errors, "elapsed": elapsed}


def _measure(
    server_pid: int, port: int, tokens: list[str], rounds: int, think: tuple[float, float] | None, seed: int
) -> dict[str, float]:
    load_before = os.getloadavg()[0]
    server_before, client_before = _cpu_seconds(server_pid), time.process_time()
    run = asyncio.run(_load(port, tokens, rounds, think, seed))
    streams = len(run["whole"])
    per_stream = 1000 / max(1, streams)
    return {
        "clients": len(tokens),
        "streams": streams,
        "errors": run["errors"],
        "rate": streams / run["elapsed"],
        "first_p50": _pct(run["first"], 0.5),
        "first_p99": _pct(run["first"], 0.99),
        "whole_p50": _pct(run["whole"], 0.5),
        "whole_p99": _pct(run["whole"], 0.99),
        "whole_max": max(run["whole"], default=float("nan")),
        "server_cpu_ms": (_cpu_seconds(server_pid) - server_before) * per_stream,
        "client_cpu_ms": (time.process_time() - client_before) * per_stream,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def _prepare_athletes(clients: int, fill_sessions: Callable[[int, int], list[int]]) -> list[str]:
    """``clients`` athletes with 30 completed sessions and a check-in, a refit, one token each."""
    from core.api.authentication import token_create
    from core.jobs import job_run
    from core.models import User
    from planning.readiness.models import CheckIn
    from planning.readiness.refit import refit_start

    ids = fill_sessions(clients, 30)
    CheckIn.objects.bulk_create(
        [CheckIn(athlete_id=a, date=date(2026, 1, 1), sleep_hours=7, energy_level=3, stress_level=2) for a in ids]
    )
    job_run(refit_start(reason="bench").job_id)
    return [token_create(user=user)[1] for user in User.objects.filter(pk__in=ids)]


def child_stream(clients: int, rounds: int, fill_sessions: Callable[[int, int], list[int]]) -> dict[str, Any]:
    """uvicorn as the Procfile starts it; the sequential, closed-loop and think-time loads (see the module)."""
    tokens = _prepare_athletes(clients, fill_sessions)
    from django.db import connections

    connections.close_all()
    var_dir = Path(os.environ.get("STAMINA_VAR_DIR", tempfile.mkdtemp()))
    port = _free_port()
    env = {
        **os.environ,
        "STAMINA_PROCESS_ROLE": "web",
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "LOG_LEVEL": "info",
        "LOG_FILE": str(var_dir / "logs" / "stamina.log"),
        "METRICS_FLUSH_THREAD": "true",
        # The Procfile's web default; STAMINA_BENCH_DB_CONN_MAX_AGE=0 measures code from before the reused
        # request threads as it was served (with Django's handler a kept connection leaks with its thread).
        "DB_CONN_MAX_AGE": os.environ.get("STAMINA_BENCH_DB_CONN_MAX_AGE", "60"),
        "THROTTLE_USER": "1000000/min",
        "THROTTLE_ANON": "1000000/min",
    }
    command = [sys.executable, "-m", "uvicorn", "core.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log"]
    with (var_dir / "web.log").open("ab") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        _measure(server.pid, port, tokens, 2, None, seed=0)  # warm-up: connections, threads, caches
        return {
            "token": tokens[0],  # for the in-process layers on the same database
            "sequential": _measure(server.pid, port, tokens[:1], SEQUENTIAL_REQUESTS, None, seed=1),
            "closed": _measure(server.pid, port, tokens, rounds, None, seed=2),
            "think": _measure(server.pid, port, tokens, rounds, THINK_SECONDS, seed=3),
        }
    finally:
        server.terminate()
        server.wait(timeout=15)


# --- layer by layer, in-process -------------------------------------------------------------------------
# Each variant runs in a fresh interpreter: the handler, the settings and the view are fixed at start-up.
LAYERS: list[tuple[str, str]] = [
    ("before", "Django's ASGIHandler, knox's token check (2 queries), async view, DB_CONN_MAX_AGE=0"),
    ("auth", "+ the token check in one query"),
    ("handler", "+ StaminaASGIHandler: sync chain in one hop, reused request threads (async view)"),
    ("sync_view", "+ the view sync (its events still an async iterator): today's code, DB_CONN_MAX_AGE=0"),
    ("conn_age", "+ DB_CONN_MAX_AGE=60, as the Procfile's web: each reused thread keeps its connection"),
]


def _install_layer(layer: str) -> Any:
    """Apply the variant ``layer`` (and every one before it in ``LAYERS``, inverted) and build the app."""
    names = [name for name, _ in LAYERS]
    upto = names.index(layer)
    if upto < names.index("sync_view"):  # the view as it was: async, its sync part in one sync_to_async
        from asgiref.sync import sync_to_async
        from django.views.decorators.csrf import csrf_exempt

        from planning.readiness import stream

        sync_view = stream.pre_session_stream

        @csrf_exempt
        async def async_view(request: Any) -> Any:
            return await sync_to_async(sync_view)(request)

        stream.pre_session_stream = async_view  # before the URLconf is loaded
    if upto < names.index("auth"):
        from knox.auth import TokenAuthentication

        from core.api.authentication import BearerTokenAuthentication

        BearerTokenAuthentication._cleanup_token = TokenAuthentication._cleanup_token  # type: ignore[method-assign]
    from core.body_limits import BodyLimitASGI

    if upto < names.index("handler"):
        from django.core.handlers.asgi import ASGIHandler

        return BodyLimitASGI(ASGIHandler())
    from core.asgi_handler import StaminaASGIHandler

    return BodyLimitASGI(StaminaASGIHandler())


async def _one_in_process(app: Any, token: str) -> bool:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(BODY)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    state = {"sent": False, "body": b""}
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not state["sent"]:
            state["sent"] = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            state["body"] += message.get("body", b"")
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    return b"event: done" in state["body"]


def child_layers(layer: str, requests: int, token: str) -> dict[str, float]:
    """``requests`` streams one after another through the variant's ASGI app; CPU and wall ms per stream."""
    app = _install_layer(layer)

    async def run() -> dict[str, float]:
        for _ in range(50):  # warm-up: caches, the URLconf
            assert await _one_in_process(app, token), "the stream did not finish"
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            await _one_in_process(app, token)
        return {
            "wall_ms": (time.perf_counter() - wall) / requests * 1000,
            "cpu_ms": (time.process_time() - cpu) / requests * 1000,
        }

    return asyncio.run(run())


def layers_table(run_child: Callable[[str, list[str], dict[str, str]], dict[str, Any]], script: str) -> list[dict]:
    """Every layer in its own interpreter against one prepared database, three times in turn; the median
    (by CPU) of each."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in LAYERS}
    for _ in range(3):
        for name, _ in LAYERS:
            age = "60" if name == "conn_age" else "0"
            results[name].append(run_child(script, ["layers", name], {"DB_CONN_MAX_AGE": age}))
    rows = []
    for name, what in LAYERS:
        runs = sorted(results[name], key=lambda r: r["cpu_ms"])
        middle = runs[len(runs) // 2]
        rows.append({"layer": name, "what": what, **middle})
    return rows

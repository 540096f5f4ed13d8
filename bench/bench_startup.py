"""Start-up time of a management command: ``time manage.py help`` (target < 1 s), beside its peer, bare Django
(``django-admin help`` with no project: the floor any Django command pays).

python bench/bench_startup.py [--runs N] [--write docs/benchmarks.md]

Each run is a fresh interpreter. Wall time depends on what else the machine runs, so the CPU time (user + sys
of the child) is reported too, and the median of the runs is the figure. Two set-ups of Python's bytecode cache:

- cached (Python's default, and what a deployment has): ``.pyc`` files written on a first, untimed run into a
  private ``PYTHONPYCACHEPREFIX`` folder (the checkout gets no ``__pycache__``);
- as invoked: the caller's environment unchanged. Where ``PYTHONDONTWRITEBYTECODE=1`` is set (these sessions'
  shells), every project module the command imports is compiled from source on every run.

The slowest imports of one cached run (``python -X importtime``) are listed so a regression names its module;
``core/tests/test_startup_imports.py`` names the libraries no command may import at start-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, command_line, machine, write_section

TARGET_S = 1.0

# What changed the figure, oldest first (each measured on this bench machine; the A/B runs with the same command).
HISTORY = [
    "History. `scipy.signal` imported at module level (`training/engine/pmc.py`, `training/synthetic.py`) cost "
    "3.5–5.4 s per command until it was imported where the filter runs. Then `django.setup()` "
    "imported DRF's serializers (`core.maintenance` → `core.api.exceptions`; they pull psycopg through "
    "`django.contrib.postgres`), `scipy.special` (`rollout.experiments.analysis` → `rollout.stats`), jsonschema "
    "(`planning.demo` → `planning.engine.contract`) and psycopg (`core.backups` → `core.backup_engines`). They now "
    "load where they are used (`core/tests/test_startup_imports.py` keeps them out). The section's previous run "
    "(merged main, as invoked, load 8.1, another CPU model): 8.11 s wall, 2.65 s CPU. Runs of the tree before "
    "that change and after it, interleaved (8 each, load ≈ 6): CPU median 1.56 → 0.95 s cached and 1.74 → 1.21 s "
    "as invoked (best 1.30 → 0.78 s and 1.44 → 1.01 s); wall median 1.93 → 1.08 s cached.",
    "",
    "What remains above the peer: numpy (≈ 0.15 s CPU alone: 26 modules import it at module level, reached from "
    "`training.models`, the admin modules and the `AppConfig.ready` registrations: job handlers, demo seeders, "
    "experiment metric sources), Celery with kombu (≈ 0.15 s alone: `core/__init__.py`, `core/jobs.py` and the "
    "tasks modules that `ready()` imports so their tasks are registered in every process), "
    "django_celery_beat's time-zone field (opens every zoneinfo file), and ~155 project modules.",
]


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO, env=env, capture_output=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _slowest_imports(env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """Top-level modules with the largest cumulative import time (ms) in one ``manage.py help``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "manage.py", "help"], cwd=REPO, env=env, capture_output=True, text=True
    )
    rows: list[tuple[str, float]] = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()[1:]  # one space after the bar; more means a nested import
        if name.startswith(" "):  # nested import: counted in its top-level parent
            continue
        rows.append((name.strip(), int(parts[1]) / 1000.0))
    return sorted(rows, key=lambda row: -row[1])[:top]


def _runs(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """Median wall, median CPU and best CPU seconds of ``runs`` runs."""
    timed = [_timed(argv, env) for _ in range(runs)]
    cpus = [c for _, c in timed]
    return statistics.median(w for w, _ in timed), statistics.median(cpus), min(cpus)


def _row(label: str, figures: tuple[float, float, float], target: bool = True) -> str:
    wall, cpu, best = figures
    verdict = (f"< {TARGET_S:.0f} s " + ("met" if wall < TARGET_S else "NOT met (wall)")) if target else ""
    return f"| {label} | {wall:.2f} | {cpu:.2f} | {best:.2f} | {verdict} |"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args()
    invoked = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings"}
    invoked.pop("REDIS_URL", None)
    command = [sys.executable, "manage.py", "help"]
    peer_command = [sys.executable, "-m", "django", "help"]
    with tempfile.TemporaryDirectory(prefix="stamina-pycache-") as prefix:
        cached = {**invoked, "PYTHONPYCACHEPREFIX": prefix}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        peer_env = {k: v for k, v in cached.items() if k != "DJANGO_SETTINGS_MODULE"}
        _timed(command, cached)  # untimed: these two runs write the bytecode cache
        _timed(peer_command, peer_env)
        load_before = os.getloadavg()[0]
        ours = _runs(command, cached, args.runs)
        raw = _runs(command, invoked, args.runs)
        peer = _runs(peer_command, peer_env, args.runs)
        load_after = os.getloadavg()[0]
        imports = _slowest_imports(cached)
    no_write = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    lines = [
        f"Machine: {machine()}; load average (1 min) {load_before:.1f} at the start, {load_after:.1f} at the end.",
        f"Command: `{command_line()}` (median of {args.runs} fresh interpreters each).",
        "",
        "| command | wall (s) | CPU user+sys (s) | best CPU (s) | target |",
        "|---|---|---|---|---|",
        _row("`time manage.py help`, bytecode cached", ours),
        _row(f"`time manage.py help` as invoked (`PYTHONDONTWRITEBYTECODE={no_write}`)", raw),
        _row("peer: bare `python -m django help`, bytecode cached", peer, target=False),
        "",
        f"Ratio to the peer (cached): {ours[0] / peer[0]:.1f}× wall, {ours[1] / max(peer[1], 1e-9):.1f}× CPU. "
        "Wall and CPU are medians; under load the CPU seconds grow too (shared cores and caches), so the best "
        "run's CPU is shown beside them.",
        "",
        *HISTORY,
        "",
        "Slowest top-level imports of one cached run (`python -X importtime manage.py help`, cumulative ms; "
        "top-level: imported by Django's app loading, an `AppConfig.ready` or the admin autodiscovery):",
        "",
        "| module | ms |",
        "|---|---|",
        *(f"| `{name}` | {ms:.0f} |" for name, ms in imports),
    ]
    body = "\n".join(lines)
    print(body)
    write_section(args.write, "Command start-up", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Start-up time of a management command: ``time manage.py help`` (target < 1 s), beside its peer, bare Django
(``django-admin help`` with no project: the floor any Django command pays).

python bench/bench_startup.py [--runs N] [--write docs/benchmarks.md]

Each run is a fresh interpreter. Wall time depends on what else the machine runs, so the CPU time (user + sys
of the child) is reported too, and the median of the runs is the figure. The slowest imports of one run
(``python -X importtime``) are listed so a regression names its module.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, command_line, machine, write_section

TARGET_S = 1.0


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "core.settings"}
    env.pop("REDIS_URL", None)
    bare_env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    ours = [_timed([sys.executable, "manage.py", "help"], env) for _ in range(args.runs)]
    peer = [_timed([sys.executable, "-m", "django", "help"], bare_env) for _ in range(args.runs)]
    wall, cpu = statistics.median(w for w, _ in ours), statistics.median(c for _, c in ours)
    peer_wall, peer_cpu = statistics.median(w for w, _ in peer), statistics.median(c for _, c in peer)
    load = os.getloadavg()[0]
    imports = _slowest_imports(env)
    lines = [
        f"Machine: {machine()}; load average {load:.1f} during the run.",
        f"Command: `{command_line()}` (median of {args.runs} fresh interpreters each).",
        "",
        "| command | wall (s) | CPU user+sys (s) | target |",
        "|---|---|---|---|",
        f"| `time manage.py help` | {wall:.2f} | {cpu:.2f} | < {TARGET_S:.0f} s "
        f"{'met' if wall < TARGET_S else 'NOT met (wall)'} |",
        f"| peer: bare `python -m django help` | {peer_wall:.2f} | {peer_cpu:.2f} | |",
        "",
        f"Ratio to the peer: {wall / peer_wall:.1f}× wall, {cpu / max(peer_cpu, 1e-9):.1f}× CPU. Before this "
        "change `scipy.signal` was imported at module level (`training/engine/pmc.py`, `training/synthetic.py`): "
        "3.5–5.4 s per command; it is now imported where the filter runs.",
        "",
        "Slowest top-level imports of one run (`python -X importtime manage.py help`, cumulative ms):",
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

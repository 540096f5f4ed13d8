"""Shared helpers for benchmarks: machine description and writing a section of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace (or append) the ``## heading`` section of ``path`` with ``body``."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nProduced by `make bench` (bench/run.py).\n"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text)


def command_line() -> str:
    return " ".join([Path(sys.executable).name, *sys.argv])


def run_child(script: str, args: list[str], env_extra: dict[str, str]) -> dict[str, float]:
    """Run ``script --child ARGS`` in a fresh interpreter (its own settings/database) and return the JSON it
    prints on a ``RESULT {...}`` line. Redis is left out so the child uses local caches."""
    import json
    import subprocess

    env = {**os.environ, **env_extra}
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, script, "--child", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=3600
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(result.stderr[-3000:])
    return dict(json.loads(line[len("RESULT ") :]))


def postgres_available(url: str = "postgres://postgres@127.0.0.1:5432/postgres") -> bool:
    import subprocess

    return subprocess.run(["psql", url, "-qc", "select 1"], capture_output=True).returncode == 0

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

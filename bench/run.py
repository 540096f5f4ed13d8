"""Run every benchmark (bench/bench_*.py) and write their sections into docs/benchmarks.md.

python bench/run.py [--write docs/benchmarks.md] [--only flags,engine]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    parser.add_argument("--only", default="", help="comma-separated names, e.g. flags,engine")
    args = parser.parse_args()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    args.write.parent.mkdir(parents=True, exist_ok=True)
    failures = 0
    local_pg = "postgres://postgres@127.0.0.1:5432/postgres"
    probe = subprocess.run(["psql", local_pg, "-qc", "select 1"], capture_output=True)
    if probe.returncode == 0:  # benchmarks that compare databases create (and drop) their own database there
        os.environ.setdefault("STAMINA_BENCH_POSTGRES", local_pg)
    for script in sorted(HERE.glob("bench_*.py")):
        name = script.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"::: {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script), "--write", str(args.write)], cwd=HERE.parent)
        failures += result.returncode != 0
    print(f"results in {args.write}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

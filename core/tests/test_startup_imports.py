"""What every ``manage.py`` command imports at start-up: ``django.setup()`` (models, every ``AppConfig.ready``
registration, the admin modules) must not pull in the heavy libraries that only some paths use. A structural
check of the import graph, not a timing: ``bench/bench_startup.py`` measures the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each entry: imported where it is used, never at start-up (the cost is for one ``manage.py help`` on the
# bench machine, docs/benchmarks.md "Command start-up").
NOT_AT_STARTUP = {
    "scipy": "rollout.stats loads scipy.special on first use (~0.3 s CPU)",
    "rest_framework.serializers": "the middleware and the admin use core.api.responses, not DRF (~0.35 s)",
    "rest_framework.views": "DRF views load with the URLconf, which a command does not import",
    "jsonschema": "planning.engine.contract builds its validator on first use (~0.1 s)",
    "psycopg": "core.backup_engines connects to PostgreSQL on first use; on SQLite nothing needs the driver",
}

_PROBE = """
import json, sys
from django.core.management import ManagementUtility
ManagementUtility(["manage.py", "help"]).execute()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after_help(tmp_path: Path) -> set[str]:
    """Every module loaded by ``manage.py help`` in a fresh interpreter, on SQLite, with no broker or cache URL."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'startup.sqlite3'}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Available subcommands" in result.stdout
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(name for name in modules if name == package or name.startswith(package + "."))


def test_manage_py_help_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    modules = _modules_after_help(tmp_path)
    assert "core.models" in modules and "rollout.experiments.analysis" in modules  # the probe did set Django up
    loaded = {package: _loaded(modules, package)[:5] for package in NOT_AT_STARTUP}
    assert {package: names for package, names in loaded.items() if names} == {}, {
        package: NOT_AT_STARTUP[package] for package, names in loaded.items() if names
    }

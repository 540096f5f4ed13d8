"""The import rules of the architecture (README, Architecture): the cycle checker finds loops, the project has
none, and import-linter's layer contracts hold."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.check_import_cycles import find_cycles, import_graph, main

ROOT = Path(__file__).resolve().parents[2]


def _package(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_fails_on_a_loop_hidden_behind_a_function_level_import(tmp_path: Path, capsys) -> None:
    _package(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/jobs.py": "def send(job_id):\n    from app.tasks import run\n    run(job_id)\n",
            "app/tasks.py": "from app.jobs import send\n\ndef run(job_id):\n    return job_id\n",
            "app/pure.py": "import json\n",
        },
    )
    assert find_cycles(import_graph(tmp_path, ["app"])) == [["app.jobs", "app.tasks", "app.jobs"]]
    assert main(["app", "--base", str(tmp_path)]) == 1
    assert "import cycle: app.jobs -> app.tasks -> app.jobs" in capsys.readouterr().out


def test_the_checker_follows_relative_and_from_package_imports(tmp_path: Path) -> None:
    _package(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": "from . import b\n",
            "app/b.py": "from app import c\n",
            "app/c.py": "from .a import thing\n",
            "app/tests/test_x.py": "from app import a\n",  # tests are not part of the graph
        },
    )
    assert find_cycles(import_graph(tmp_path, ["app"])) == [["app.a", "app.b", "app.c", "app.a"]]


def test_the_checker_passes_without_a_loop_and_ignores_type_checking_imports(tmp_path: Path) -> None:
    _package(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/models.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.services import x\n",
            "app/services.py": "from app.models import Thing\n",
        },
    )
    assert main(["app", "--base", str(tmp_path)]) == 0


def test_the_project_has_no_import_cycle() -> None:
    assert find_cycles(import_graph(ROOT, ["core", "rollout", "training", "planning", "feedback"])) == []


@pytest.mark.system
def test_the_layer_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]

"""`make run`'s process set (web + worker + beat from the Procfile) comes up on SQLite with the embedded
broker, serves /admin/, /api/docs/ and /health, and round-trips a job through a worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, free_port

pytestmark = pytest.mark.system  # starts processes or servers (see pyproject's markers)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_procfile_serves_and_round_trips(tmp_path: Path) -> None:
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "CELERY_QUEUE"}
    }
    env.update(
        STAMINA_VAR_DIR=str(tmp_path / "var"),
        STAMINA_PORT=str(port),
        DJANGO_SETTINGS_MODULE="core.settings",
        LOG_FILE=str(tmp_path / "logs" / "stamina.log"),
        LOG_FORMAT="json",
        PATH=f"{bin_dir}:{env.get('PATH', '')}",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=REPO, env=env, check=True, capture_output=True)
    seeded = subprocess.run([*manage, "seed_demo"], cwd=REPO, env=env, check=True, capture_output=True, text=True)
    assert "admin" in seeded.stdout
    log = open(tmp_path / "honcho.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(bin_dir / "honcho"), "start", "-f", "Procfile"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline:
            try:
                status, _ = _get(f"http://127.0.0.1:{port}/health")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        logs = (tmp_path / "honcho.log").read_text(errors="replace")
        assert status == 200, logs[-3000:]
        assert _get(f"http://127.0.0.1:{port}/admin/login/")[0] == 200
        docs_status, docs = _get(f"http://127.0.0.1:{port}/api/docs/")
        assert docs_status == 200 and b"swagger" in docs.lower()
        ping = subprocess.run(
            [*manage, "ping_worker", "--timeout", "60"], cwd=REPO, env=env, capture_output=True, text=True
        )
        assert ping.returncode == 0, ping.stderr + (tmp_path / "honcho.log").read_text(errors="replace")[-3000:]
        assert "pong" in ping.stdout
        _assert_access_line_in_log_file(tmp_path / "logs" / "stamina.log")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _assert_access_line_in_log_file(path: Path) -> None:
    """The runbooks' `tail -f` target: the web process' access lines (JSON) land in LOG_FILE."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "stamina.access" and line["path"] == "/admin/login/"]
    assert access, lines[-5:]
    assert access[0]["method"] == "GET" and access[0]["status"] == 200 and access[0]["duration_ms"] >= 0
    assert len(access[0]["request_id"]) >= 16 and access[0]["user_id"] is None

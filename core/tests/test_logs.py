"""Logs where the runbooks look: one access line per request (no secrets), and a rotated LOG_FILE."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.http import HttpResponse
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from core.access_log import AccessLogMiddleware
from core.logging import SharedRotatingFileHandler

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_request_writes_one_access_line_with_its_fields_and_no_secrets(
    client_for: Any, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user()
    client = client_for(user)
    token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    caplog.set_level(logging.INFO, logger="stamina.access")
    response = client.get("/api/v1/activities?access_token=s3cret-in-query&page_size=5", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 200

    records = [r for r in caplog.records if r.name == "stamina.access"]
    assert len(records) == 1
    record = records[0]
    assert (record.method, record.path, record.status) == ("GET", "/api/v1/activities", 200)
    assert record.user_id == user.pk
    assert isinstance(record.duration_ms, float) and record.duration_ms >= 0
    assert record.request_id == "req-42"
    for formatter in _formatters():
        line = formatter.format(record)
        assert "req-42" in line and "/api/v1/activities" in line and "200" in line
        assert token not in line and token[:8] not in line
        assert "s3cret" not in line and "access_token" not in line and "Bearer" not in line
    as_json = json.loads(_formatters()[0].format(record))
    assert {"method", "path", "status", "duration_ms", "user_id", "request_id"} <= set(as_json)
    assert as_json["user_id"] == user.pk


def _formatters() -> list[logging.Formatter]:

    json_cfg = {k: v for k, v in settings.LOGGING["formatters"]["json"].items() if k != "()"}
    return [JsonFormatter(**json_cfg), logging.Formatter(settings.LOGGING["formatters"]["text"]["format"])]


@pytest.mark.django_db
def test_anonymous_and_refused_requests_are_logged_without_a_user(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="stamina.access")
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not-a-real-token-abcdef")
    assert response.status_code == 401
    (record,) = [r for r in caplog.records if r.name == "stamina.access"]
    assert record.status == 401 and record.user_id is None
    assert "not-a-real-token" not in record.getMessage()


def test_a_forged_newline_in_the_path_cannot_split_the_line(rf: Any) -> None:

    captured: list[logging.LogRecord] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    handler = Grab()
    logging.getLogger("stamina.access").addHandler(handler)
    try:
        AccessLogMiddleware(lambda request: HttpResponse("ok"))(rf.get("/x%0AGET /admin 200"))
    finally:
        logging.getLogger("stamina.access").removeHandler(handler)
    assert "\n" not in captured[0].getMessage()
    assert captured[0].path == "/x%0AGET%20/admin%20200"


def test_log_file_rotates_at_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "stamina.log"
    handler = SharedRotatingFileHandler(str(path), max_bytes=2000, backup_count=3)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.rotation")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for n in range(200):
            logger.warning("line %04d %s", n, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in path.parent.glob("stamina.log*") if not p.name.endswith(".lock"))
    assert files == ["stamina.log", "stamina.log.1", "stamina.log.2", "stamina.log.3"]
    assert all((path.parent / name).stat().st_size <= 2000 for name in files)
    newest = path.read_text().splitlines()
    assert newest[-1].startswith("line 0199")
    kept = [line for name in reversed(files) for line in (path.parent / name).read_text().splitlines()]
    numbers = [int(line.split()[1]) for line in kept]
    assert numbers == list(range(numbers[0], 200))  # contiguous: nothing lost across rotations


_WRITER = """
import logging, sys
sys.path.insert(0, {repo!r})
from core.logging import SharedRotatingFileHandler
handler = SharedRotatingFileHandler({path!r}, max_bytes=4000, backup_count=50)
handler.setFormatter(logging.Formatter("%(message)s"))
log = logging.getLogger("w")
log.addHandler(handler)
for n in range(400):
    log.warning("%s %04d %s", sys.argv[1], n, "y" * 30)
"""


@pytest.mark.system
def test_processes_sharing_one_log_file_lose_no_line_across_rotations(tmp_path: Path) -> None:
    path = tmp_path / "shared.log"
    script = _WRITER.format(repo=str(REPO), path=str(path))
    writers = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("web", "worker", "beat")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    lines = [
        line
        for log in path.parent.glob("shared.log*")
        if not log.name.endswith(".lock")
        for line in log.read_text().splitlines()
    ]
    assert len(list(path.parent.glob("shared.log.*"))) > 3  # it did rotate
    for name in ("web", "worker", "beat"):
        numbers = sorted(int(line.split()[1]) for line in lines if line.startswith(name + " "))
        assert numbers == list(range(400)), name

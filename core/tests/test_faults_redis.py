"""Fault test: the private Redis that is cache and broker stops in the middle of a burst of feedback (each a
queued triage job). Every request still succeeds and no job is lost: the rows were written first, and once
Redis is back the sweeper re-sends what the dead broker never got and a real worker finishes every job."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

from conftest import free_port, redis_reachable, require, wait_for
from core.celery import app
from core.jobs import jobs_sweep
from core.models import Job

pytestmark = pytest.mark.system


class PrivateRedis:
    """Our own redis-server on a free port, stopped and started again on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server is not installed")
        self.binary = str(binary)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        require(wait_for(lambda: redis_reachable(self.url), timeout=10), "private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


def _reset_broker_pools() -> None:
    """Drop the app's cached broker connections and producers so the next send uses ``broker_url`` as it is
    now (earlier tests may have filled them with connections to the suite's own broker)."""
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


def _use_redis(url: str) -> Any:
    caches_setting = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    app.conf.broker_url = url
    app.conf.broker_transport_options = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    _reset_broker_pools()
    caches._connections.__dict__.pop("default", None)  # type: ignore[attr-defined]
    return override_settings(CACHES=caches_setting)


def test_redis_stopped_under_load_loses_no_request_and_no_job(
    private_redis: PrivateRedis, start_worker: Any, make_user: Any, client_for: Any
) -> None:
    original = (app.conf.broker_url, app.conf.broker_transport_options)
    athletes = [client_for(make_user("athlete")) for _ in range(4)]
    statuses: list[int] = []
    try:
        with _use_redis(private_redis.url):
            for index in range(30):
                if index == 10:
                    private_redis.stop()  # mid-burst: the cache and the broker are gone
                client = athletes[index % len(athletes)]
                body = {"type": "bug_report", "message": f"the app crashed on screen {index}"}
                statuses.append(client.post("/api/feedback/submit", body, format="json").status_code)
                statuses.append(client.get("/api/feedback/mine").status_code)
            assert statuses.count(201) == 30 and statuses.count(200) == 30, statuses
            assert Job.objects.filter(kind="feedback.triage").count() == 30  # every job row was written
            private_redis.start()
            _reset_broker_pools()
            worker = start_worker(broker_url=private_redis.url)
            with override_settings(JOB_QUEUED_RESEND_SECONDS=0):
                done = wait_for(
                    lambda: (
                        jobs_sweep(now=timezone.now() + timedelta(seconds=1)) is not None
                        and not Job.objects.filter(kind="feedback.triage").exclude(status="succeeded").exists()
                    ),
                    timeout=120,
                    interval=2,
                )
            states = list(Job.objects.filter(kind="feedback.triage").values_list("status", flat=True))
            assert done, (states, worker.log())
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = original
        _reset_broker_pools()
        caches._connections.__dict__.pop("default", None)  # type: ignore[attr-defined]
    assert states == ["succeeded"] * 30

"""Flags keep answering when the cache (Redis) is unreachable or dies mid-way: no 500s, no exceptions."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

from conftest import free_port, redis_reachable, require
from rollout import flags
from rollout.models import Flag
from rollout.services import flag_toggle

pytestmark = pytest.mark.django_db
FLAG = "enhanced_trimp_calculation"


def _redis_caches(url: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }


def _drop_cache_connection() -> None:
    caches._connections.__dict__.pop("default", None)


@pytest.fixture
def dead_cache() -> Iterator[None]:
    with override_settings(CACHES=_redis_caches(f"redis://127.0.0.1:{free_port()}/0"), FLAGS_REFRESH_SECONDS=0):
        _drop_cache_connection()
        flags.reset()
        yield
    _drop_cache_connection()
    flags.reset()


def test_evaluation_answers_with_a_dead_redis_url(dead_cache: None, demo_users: Any) -> None:
    flag_toggle(name=FLAG, user_type="beta", enabled=True, actor=None, source="api")
    assert flags.evaluate(FLAG, user_id=demo_users.beta[0].pk) == (True, "group:beta")
    assert flags.is_feature_enabled(FLAG, demo_users.regular.pk) is False


def test_api_keeps_working_with_a_dead_redis_url(dead_cache: None, demo_users: Any, client_for: Any) -> None:
    ops = client_for(demo_users.admin)
    toggle = ops.post(f"/api/admin/feature-flags/{FLAG}/toggle", {"user_type": "admin", "enabled": True}, format="json")
    assert toggle.status_code == 200
    listing = ops.get("/api/admin/feature-flags")
    assert listing.status_code == 200
    mine = client_for(demo_users.admin).get("/api/v1/flags")
    assert mine.status_code == 200 and mine.json()[FLAG] == {"enabled": True, "reason": "staff"}


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_reachable(url) and time.monotonic() < deadline:
        time.sleep(0.05)
    require(redis_reachable(url), "private redis-server did not start")
    yield url, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


@pytest.mark.system
def test_redis_dies_while_flags_are_evaluated(private_redis: tuple[str, Any], demo_users: Any) -> None:
    url, proc = private_redis
    Flag.objects.filter(name=FLAG).update(percent=100)
    with override_settings(CACHES=_redis_caches(url), FLAGS_REFRESH_SECONDS=0):
        _drop_cache_connection()
        flags.reset()
        try:
            answers = [flags.evaluate(FLAG, user_id=demo_users.regular.pk) for _ in range(20)]
            assert caches["default"].get(flags.VERSION_CACHE_KEY) is not None  # the token lives in Redis
            proc.kill()
            proc.wait(5)
            answers += [flags.evaluate(FLAG, user_id=demo_users.regular.pk) for _ in range(20)]
            assert set(answers) == {(True, "percent")}
            # a change made while Redis is down is still seen (the database is the fallback)
            flag_toggle(name=FLAG, enabled=False, actor=None, source="api", reason="incident")
            assert flags.evaluate(FLAG, user_id=demo_users.regular.pk) == (False, "killed")
        finally:
            _drop_cache_connection()
            flags.reset()


@pytest.mark.system
def test_a_process_with_no_database_answers_from_the_snapshot_file(demo_users: Any, tmp_path: Any) -> None:
    """A process started while the database is unreachable answers from the last snapshot any process wrote."""
    import os
    import sys

    from conftest import REPO

    Flag.objects.filter(name=FLAG).update(percent=100)
    with override_settings(VAR_DIR=tmp_path):
        flags.reset()
        assert flags.evaluate(FLAG, user_id=demo_users.regular.pk) == (True, "percent")  # writes the file
    assert (tmp_path / "flags-snapshot.json").exists()
    code = (
        "import django; django.setup(); from rollout import flags; "
        f"print(flags.evaluate({FLAG!r}, user_id={demo_users.regular.pk}), flags.current_snapshot().source)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "core.settings",
        "STAMINA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/gone",
        "DB_CONNECT_TIMEOUT": "1",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "(True, 'percent') file"

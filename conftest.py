"""Shared fixtures: users of each role, API clients, and the service tiers (Redis, a real Celery worker).

Service fixtures skip when the service is missing, unless REQUIRE_SERVICES=1, where they fail instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent
SHARED_DATA = REPO.parent / "shared" / "data" / "activities"


# --- one migrated database per code version (SQLite) --------------------------------------------------------
# Migrating the test database costs more than the fast tests themselves. On SQLite the migrated file is kept as
# a template named by a fingerprint of the code that decides its content (migrations, models, the post_migrate
# syncs: every non-test module of the apps); a later session with the same code copies it instead of migrating.
# STAMINA_TEST_TEMPLATE=0 turns it off. PostgreSQL runs migrate as before (or use pytest's --reuse-db).
TEMPLATE_DIR = REPO / "var" / "test" / "templates"
_APPS = ("core", "rollout", "training", "planning", "feedback")


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for app in _APPS:
        for path in sorted((REPO / app).rglob("*.py")):
            if "tests" in path.parts:
                continue
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _sqlite_test_file() -> Path | None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("sqlite3") or os.environ.get("STAMINA_TEST_TEMPLATE") == "0":
        return None
    name = (database.get("TEST") or {}).get("NAME")
    return Path(name) if name else None


@pytest.fixture(scope="session")
def django_db_keepdb(request: pytest.FixtureRequest) -> bool:
    """Copy the template (when one matches the code) into place and keep it instead of migrating anew."""
    if request.config.getvalue("reuse_db"):
        return True
    target = _sqlite_test_file()
    template = TEMPLATE_DIR / f"{_code_fingerprint()}.sqlite3"
    if target is None or not template.exists() or request.config.getvalue("create_db"):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    request.config.stash[_COPIED] = target
    return True


_COPIED = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any, request: pytest.FixtureRequest) -> Iterator[None]:
    """pytest-django's setup, then: save the freshly migrated SQLite file as the template for this code."""
    copied = request.config.stash.get(_COPIED, None)
    target = _sqlite_test_file()
    if copied is None and target is not None and target.exists():
        from django.db import connections

        with django_db_blocker.unblock():
            connections.close_all()
        TEMPLATE_DIR.mkdir(parents=True, exist_ok=True)
        for old in TEMPLATE_DIR.glob("*.sqlite3"):
            old.unlink(missing_ok=True)  # templates of earlier code are never used again
        partial = TEMPLATE_DIR / f".{os.getpid()}.tmp"
        shutil.copyfile(target, partial)
        os.replace(partial, TEMPLATE_DIR / f"{_code_fingerprint()}.sqlite3")
    yield
    if copied is not None:  # kept (keepdb) rather than destroyed by pytest-django: remove the copy ourselves
        from django.db import connections

        with django_db_blocker.unblock():
            connections.close_all()
        copied.unlink(missing_ok=True)


def require(condition: bool, reason: str, *, env: str = "REQUIRE_SERVICES") -> None:
    """Skip with ``reason`` when ``condition`` is false, or fail when the env variable demands the service."""
    if condition:
        return
    if os.environ.get(env, "") not in ("", "0"):
        pytest.fail(f"{reason} (and {env} is set)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except Exception:
        return False


@pytest.fixture(scope="session", autouse=True)
def _clean_test_run_dir() -> Iterator[None]:
    yield
    from django.conf import settings

    shutil.rmtree(Path(settings.VAR_DIR) / "test" / settings.TEST_RUN_ID, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED_DATA.is_dir(), f"shared activity files not found at {SHARED_DATA}", env="REQUIRE_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A real Redis: $REDIS_URL or the local default (database 15)."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    require(redis_reachable(url), f"Redis not reachable at {url}")
    return url


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from core.models import User

    counter = {"n": 0}

    def factory(role: str = "athlete", *, staff: bool = False, groups: tuple[str, ...] = (), **fields: Any) -> Any:
        from django.contrib.auth.models import Group

        counter["n"] += 1
        username = fields.pop("username", f"{role}{counter['n']}-{time.monotonic_ns()}")
        user = User.objects.create_user(
            username=username, password="pw", role=role, is_staff=staff or role == "staff", **fields
        )
        for name in groups:
            user.groups.add(Group.objects.get_or_create(name=name)[0])
        return user

    return factory


@pytest.fixture
def api_client() -> Any:
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def client_for(make_user: Callable[..., Any]) -> Callable[[Any], Any]:
    """An APIClient authenticated with a real Bearer token for ``user``."""
    from rest_framework.test import APIClient

    from core.services import token_create

    def build(user: Any) -> Any:
        _, token = token_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.user = user
        return client

    return build


@pytest.fixture
def staff_client(make_user: Callable[..., Any], client_for: Callable[[Any], Any]) -> Any:
    return client_for(make_user("staff", staff=True, is_superuser=True))


def _database_url_for_subprocess() -> str:
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    user = cfg.get("USER") or ""
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{cfg.get('HOST') or '127.0.0.1'}:{cfg.get('PORT') or 5432}/{cfg['NAME']}"


class WorkerProcess:
    """A real `celery worker` subprocess bound to this test run's database, broker and queue."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from django.conf import settings

        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the subprocess' lifetime)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "core",
                "worker",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--pool",
                "prefork",
                "-c",
                "1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole worker process group (the parent and its pool children)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


@pytest.fixture
def start_worker(transactional_db: Any, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real Celery workers (own processes) on this run's database and queue; stopped at teardown.

    ``broker_url`` overrides the broker of the settings (e.g. a Redis URL on the SQLite tier).
    """
    from django.conf import settings

    started: list[WorkerProcess] = []

    def start(broker_url: str | None = None) -> WorkerProcess:
        broker = broker_url or settings.CELERY_BROKER_URL or ""
        if broker.startswith("redis"):
            require(redis_reachable(broker), f"Redis broker not reachable at {broker}")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "core.test_settings",
            "DATABASE_URL": _database_url_for_subprocess(),
        }
        if broker_url:
            env["CELERY_BROKER_URL"] = broker_url
        worker = WorkerProcess(env, tmp_path / f"worker{len(started)}.log")
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(start_worker: Callable[..., WorkerProcess]) -> WorkerProcess:
    """A real Celery worker on the settings' broker (Redis on the service tier, else the filesystem broker)."""
    return start_worker()


def wait_for(predicate: Callable[[], bool], *, timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass (for cross-process effects only)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture(autouse=True)
def _fresh_flag_snapshot(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with no in-process flag snapshot (database rollbacks would make it stale)."""
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        yield
        return
    from rollout import flags
    from rollout.monitoring.recorder import _recorder

    _recorder.discard()  # samples recorded by an earlier test belong to its rolled-back database
    flags.reset()
    try:
        from django.core.cache import cache

        cache.delete(flags.VERSION_CACHE_KEY)
    except Exception:
        pass
    yield
    flags.reset()
    _recorder.discard()


@pytest.fixture
def demo_users(db: Any) -> Any:
    """The runbooks' users: admin (staff), two beta athletes, a regular athlete, a coach, athletes."""
    from core.demo import demo_users_seed

    return demo_users_seed(password="pw")


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download). Skips without it unless REQUIRE_BROWSER=1.

    Request it after the database fixtures: Playwright's sync API runs an event loop while it is open, so it must
    be closed before the database is torn down (the ORM refuses to run beside a running loop otherwise).
    """
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    require(binary is not None, "Chromium is not installed (apt-get install chromium)", env="REQUIRE_BROWSER")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed", env="REQUIRE_BROWSER")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the test body's ORM calls are still synchronous
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=binary,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()

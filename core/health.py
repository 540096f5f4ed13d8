"""Health checks with short timeouts: each answers ``(ok, detail)`` and never raises."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from core.celery import app

CheckResult = dict[str, Any]


def _timed(check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health check reports faults, it does not raise them
        detail = f"{type(exc).__name__}: {exc}"[:500]
        ok = False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 2)}


def check_database() -> CheckResult:
    def run() -> str:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return connections[DEFAULT_DB_ALIAS].vendor

    return _timed(run)


def check_cache() -> CheckResult:
    def run() -> str:
        key = "health:probe"
        cache.set(key, "1", timeout=10)
        if cache.get(key) != "1":
            raise RuntimeError("value written to the cache could not be read back")
        return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]

    return _timed(run)


def check_broker() -> CheckResult:
    def run() -> str:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            transport = conn.transport_cls
        return str(transport)

    return _timed(run)


# Loading the migration graph is the slowest check; once everything is applied the answer is kept this long
# (migrations are applied by deploys, not while a process serves), so a health probe stays cheap.
MIGRATIONS_OK_CACHE_SECONDS = 60.0
_migrations_ok_until = 0.0


def check_migrations() -> CheckResult:
    def run() -> str:
        global _migrations_ok_until
        if time.monotonic() < _migrations_ok_until:
            return "all applied"
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            pending = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
            raise RuntimeError(f"{len(pending)} pending: {', '.join(pending[:10])}")
        _migrations_ok_until = time.monotonic() + MIGRATIONS_OK_CACHE_SECONDS
        return "all applied"

    return _timed(run)


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "migrations": check_migrations,
}


# The whole report answers within this, whatever hangs: a check still running then is reported as failed
# (its thread finishes in the background, bounded by the database/cache/broker timeouts).
HEALTH_DEADLINE_SECONDS = settings.HEALTH_TIMEOUT_SECONDS


def _in_thread(check: Callable[[], CheckResult], results: dict[str, CheckResult], name: str) -> None:
    try:
        results[name] = check()
    finally:
        connections.close_all()  # this thread's own connections; it never serves another request


def health_report(deadline_seconds: float = HEALTH_DEADLINE_SECONDS) -> tuple[bool, dict[str, CheckResult]]:
    """Run every check in parallel; the first element is True when all passed within ``deadline_seconds``."""
    results: dict[str, CheckResult] = {}
    threads = {
        name: threading.Thread(target=_in_thread, args=(check, results, name), name=f"health-{name}", daemon=True)
        for name, check in CHECKS.items()
    }
    for thread in threads.values():
        thread.start()
    ends = time.monotonic() + deadline_seconds
    for thread in threads.values():
        thread.join(max(0.0, ends - time.monotonic()))
    report: dict[str, CheckResult] = {}
    for name in CHECKS:
        result = results.get(name)
        if result is None:
            ms = round(deadline_seconds * 1000, 2)
            result = {"ok": False, "detail": f"no answer within {deadline_seconds:g} s", "ms": ms}
        report[name] = result
    if not report["database"]["ok"]:
        report["migrations"] = {"ok": False, "detail": "database unreachable", "ms": 0.0}
    return all(r["ok"] for r in report.values()), report

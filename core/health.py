"""Health checks with short timeouts: each answers ``(ok, detail)`` and never raises."""

from __future__ import annotations

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


def check_migrations() -> CheckResult:
    def run() -> str:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            pending = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
            raise RuntimeError(f"{len(pending)} pending: {', '.join(pending[:10])}")
        return "all applied"

    return _timed(run)


CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "migrations": check_migrations,
}


def health_report() -> tuple[bool, dict[str, CheckResult]]:
    """Run every check; the first element is True when all passed."""
    results = {name: check() for name, check in CHECKS.items()}
    if not results["database"]["ok"]:
        results["migrations"] = {"ok": False, "detail": "database unreachable", "ms": 0.0}
    return all(r["ok"] for r in results.values()), results

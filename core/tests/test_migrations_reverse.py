"""Every app's migrations reverse to zero and apply again, on a fresh database of the suite's engine.

Runs ``manage.py migrate`` in subprocesses (as ops would) against a database of its own: a file for SQLite,
a new database on the same server for PostgreSQL (dropped afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from conftest import REPO

pytestmark = pytest.mark.system


def _local_apps_with_migrations() -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    local = {config.label for config in apps.get_app_configs() if Path(config.path).is_relative_to(REPO)}
    return sorted(label for label in local if label in loader.migrated_apps)


@pytest.fixture
def fresh_database_url(tmp_path: Path, django_db_blocker: object) -> Iterator[str]:
    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"stamina_migrations_{uuid.uuid4().hex[:8]}"
    user = settings.get("USER") or "postgres"
    host, port = settings.get("HOST") or "127.0.0.1", settings.get("PORT") or 5432
    admin = f"postgresql://{user}@{host}:{port}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str, tmp_path: Path, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "core.settings", "DJANGO_ENV": "test"}
    env["STAMINA_VAR_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", *args, "--noinput", "-v", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"migrate {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"


def test_every_app_migrates_to_zero_and_forward_again(fresh_database_url: str, tmp_path: Path) -> None:
    """``rollout zero`` (its post-migrate handler once failed on its dropped tables), then ``core zero``, which
    reverses every migration that depends on the user model: every app's, waffle's and rollout's drop of
    waffle's tables included; each time ``migrate`` brings everything back."""
    labels = _local_apps_with_migrations()
    assert {"core", "rollout", "training", "feedback"} <= set(labels)
    _migrate(fresh_database_url, tmp_path)
    for label in ("rollout", "core"):
        _migrate(fresh_database_url, tmp_path, label, "zero")
        _migrate(fresh_database_url, tmp_path)

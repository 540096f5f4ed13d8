"""A second database for ``--dsn`` / ``PLANNING_DATABASE_URL``: added as a connection alias at run time.

The runbook seeds a staging database that is not the project's own. ``target_database(url)`` registers it under
its own alias (the default connection is never used for it), migrates it when the planning tables are missing,
and closes it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dj_database_url
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections

from core.errors import ServiceError

ENV_VAR = "PLANNING_DATABASE_URL"
ALIAS = "planning_target"


def dsn_from(option: str | None) -> str | None:
    """``--dsn`` when given, else ``PLANNING_DATABASE_URL``, else None (the project's database)."""
    return option or os.environ.get(ENV_VAR) or None


@contextmanager
def target_database(url: str, *, migrate: bool = True) -> Iterator[str]:
    """Yield the alias of the database at ``url``, migrated first when it lacks the planning tables."""
    try:
        config: dict[str, Any] = dj_database_url.parse(url)
    except ValueError as exc:
        raise ServiceError("invalid_dsn", f"Not a database URL: {exc}") from exc
    if not config.get("ENGINE"):
        raise ServiceError("invalid_dsn", f"Not a database URL: {url!r}")
    if config["ENGINE"].endswith("postgresql"):
        config.setdefault("OPTIONS", {})["connect_timeout"] = 5
    configured = connections.configure_settings(
        {DEFAULT_DB_ALIAS: connections.settings[DEFAULT_DB_ALIAS], ALIAS: config}
    )
    # A connection made for this run only: created from a transient settings entry, which is then removed, so
    # nothing that walks the configured databases (health checks, request teardown, the test runner's
    # isolation of the project's databases) ever sees it; ``using=ALIAS`` still finds the connection object.
    connections.settings[ALIAS] = configured[ALIAS]
    connection = connections[ALIAS]
    del connections.settings[ALIAS]
    try:
        try:
            tables = set(connection.introspection.table_names())
        except Exception as exc:
            raise ServiceError("database_unreachable", f"Cannot connect to the --dsn database: {exc}") from exc
        if migrate and "movement_library" not in tables:
            call_command("migrate", database=ALIAS, interactive=False, verbosity=0)
        yield ALIAS
    finally:
        connection.close()
        if hasattr(connections._connections, ALIAS):
            delattr(connections._connections, ALIAS)

"""How a database is dumped, loaded into a staging copy, summarised and swapped in — per engine and method.

Used only by ``core.backups`` (the services). Methods:

- ``sqlite``: SQLite's online backup API (a consistent snapshot of a WAL database while other processes
  write; a plain file copy is not).
- ``pg_dump``: ``pg_dump --format=custom`` of an exported snapshot, loaded with ``pg_restore``.
- ``logical``: Django's serialization (JSON lines, microseconds kept) of every model table, loaded with
  ``loaddata`` into a freshly migrated staging database. Works on either engine; the fallback when the
  PostgreSQL client tools are not on ``PATH``.

Table summaries (row count + checksum) are computed on the same snapshot as the dump, and again on the staging
copy before it replaces the live database, through the engine's own driver (raw stored values).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.apps import apps
from django.conf import settings as django_settings
from django.core import serializers
from django.core.management import call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_migrate,
    post_save,
    pre_delete,
    pre_migrate,
    pre_save,
)
from django.db.utils import load_backend

if TYPE_CHECKING:
    import psycopg

# psycopg is imported where a PostgreSQL connection is made, not here: core.backups (which every process imports
# for its job handler) would otherwise make every ``manage.py`` command pay for the driver, even on SQLite.

_CHECKSUM_MODULUS = 2**256
_FETCH_ROWS = 2000


class EngineError(Exception):
    """A dump, load or swap step failed; the message says which and why."""


@dataclass(frozen=True)
class TableSummary:
    rows: int
    checksum: str


# --- Table summaries ------------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "b:" + bytes(value).hex()
    if isinstance(value, float):
        return "f:" + repr(value)
    if isinstance(value, (datetime, date, time)):
        return "t:" + value.isoformat()
    if isinstance(value, Decimal):
        return "d:" + str(value)
    if isinstance(value, (dict, list)):
        return "j:" + json.dumps(value, sort_keys=True, default=str)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return "s:" + str(value)


def summarise_rows(rows: Iterable[tuple[Any, ...]]) -> TableSummary:
    """Row count and an order-independent checksum: the sum (mod 2^256) of each row's SHA-256.

    Order-independent so neither side needs an ORDER BY; a sum rather than XOR so duplicate rows count.
    """
    total = 0
    count = 0
    for row in rows:
        encoded = json.dumps([_canonical(value) for value in row], separators=(",", ":")).encode()
        total = (total + int.from_bytes(hashlib.sha256(encoded).digest(), "big")) % _CHECKSUM_MODULUS
        count += 1
    return TableSummary(rows=count, checksum=f"{total:064x}")


def _fetch_all(cursor: Any) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(_FETCH_ROWS):
        yield from rows


def sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return sorted(name for (name,) in rows)


def sqlite_summaries(path: Path, tables: Iterable[str] | None = None) -> dict[str, TableSummary]:
    """Summaries of a SQLite file read with the plain driver (stored values, no Django converters)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")  # one read snapshot for every table
        names = sorted(tables) if tables is not None else sqlite_tables(conn)
        return {name: summarise_rows(_fetch_all(conn.execute(f'SELECT * FROM "{name}"'))) for name in names}
    finally:
        conn.close()


def pg_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return sorted(name for (name,) in rows)


def pg_summaries(conn: psycopg.Connection[Any], tables: Iterable[str] | None = None) -> dict[str, TableSummary]:
    """Summaries read through ``conn`` in its current transaction, streaming each table (server-side cursor)."""
    names = sorted(tables) if tables is not None else pg_tables(conn)
    summaries: dict[str, TableSummary] = {}
    for name in names:
        with conn.cursor(name=f"stamina_summary_{uuid.uuid4().hex[:8]}") as cursor:
            cursor.execute(f'SELECT * FROM "{name}"')
            summaries[name] = summarise_rows(_fetch_all(cursor))
    return summaries


def model_tables(alias: str) -> list[str]:
    """Tables of the installed, managed, concrete models (what ``dumpdata`` covers) that exist in ``alias``."""
    connection = connections[alias]
    existing = set(connection.introspection.table_names())
    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and model._meta.db_table in existing
    }
    return sorted(tables)


def applied_migrations(alias: str) -> list[str]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return sorted(f"{app}.{name}" for app, name in cursor.fetchall())


# --- Connections to other databases of the same server ----------------------------------------------------


def pg_connect(
    settings_dict: dict[str, Any], dbname: str, *, autocommit: bool = True, snapshot_reads: bool = False
) -> psycopg.Connection[Any]:
    """A plain psycopg connection (no Django loaders, session time zone UTC) to ``dbname`` on the same server.

    Summaries are always read through such connections, on both sides of a backup, so values compare alike.
    ``snapshot_reads``: a REPEATABLE READ, read-only transaction (one snapshot for every table).
    """
    import psycopg

    conn = psycopg.connect(
        dbname=dbname,
        user=settings_dict.get("USER") or None,
        password=settings_dict.get("PASSWORD") or None,
        host=settings_dict.get("HOST") or None,
        port=settings_dict.get("PORT") or None,
        connect_timeout=int(settings_dict.get("OPTIONS", {}).get("connect_timeout", 10)),
        options="-c TimeZone=UTC",
        autocommit=autocommit,
    )
    if snapshot_reads:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
    return conn


def pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    env = {**os.environ}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    return env


def pg_tools_available() -> bool:
    return shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None


@contextmanager
def django_alias(base_alias: str, **overrides: Any) -> Iterator[str]:
    """A temporary Django connection alias like ``base_alias`` but for another database (a staging copy).

    The connection is made directly rather than added to ``DATABASES``, so nothing else iterates over it.
    """
    alias = f"stamina_backup_{uuid.uuid4().hex[:8]}"
    settings_dict = {**connections[base_alias].settings_dict, **overrides}
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]


_MUTED_SIGNALS = (pre_migrate, post_migrate, pre_save, post_save, pre_delete, post_delete, m2m_changed)


@contextmanager
def _signals_muted() -> Iterator[None]:
    """Loading a staging copy is a pure data load: the apps' receivers (post_migrate syncs, flag-version bumps,
    feedback counts) write to the *default* database — the live one being restored — and the rows they would
    derive are in the backup already. So none of them run while the staging copy is built (this process is a
    command doing nothing else)."""
    saved = [(signal, signal.receivers) for signal in _MUTED_SIGNALS]
    for signal, _ in saved:
        signal.receivers = []
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in saved:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()


# --- Dumps ------------------------------------------------------------------------------------------------


def sqlite_dump(live_path: Path, payload: Path) -> dict[str, TableSummary]:
    """Online backup of a live SQLite file into ``payload`` (a self-contained file); summaries of the copy."""
    source = sqlite3.connect(str(live_path), timeout=60)
    target = sqlite3.connect(str(payload))
    try:
        source.backup(target)  # one step: a consistent snapshot, other processes keep writing to the WAL
        target.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, no -wal beside it
    finally:
        target.close()
        source.close()
    return sqlite_summaries(payload)


def pg_dump(alias: str, payload: Path) -> dict[str, TableSummary]:
    """``pg_dump`` of a snapshot exported by our own REPEATABLE READ transaction, summarised in that same
    transaction, so the dump and its manifest describe the same instant while others keep writing."""
    settings_dict = connections[alias].settings_dict
    with pg_connect(settings_dict, str(settings_dict["NAME"]), autocommit=False, snapshot_reads=True) as conn:
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]  # type: ignore[index]
        command = [
            "pg_dump",
            "--format=custom",
            "--compress=0",  # the archive is gzipped as a whole
            "--no-owner",
            "--no-privileges",
            f"--snapshot={snapshot}",
            f"--file={payload}",
            str(settings_dict["NAME"]),
        ]
        result = subprocess.run(command, env=pg_env(settings_dict), capture_output=True, text=True)
        if result.returncode != 0:
            raise EngineError(f"pg_dump failed: {result.stderr.strip()[-2000:]}")
        summaries = pg_summaries(conn)
        conn.rollback()
        return summaries


class LosslessJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder cuts datetimes and times to milliseconds (ECMA-262); a backup keeps microseconds."""

    def default(self, o: Any) -> Any:
        if isinstance(o, (datetime, time)):
            return o.isoformat()
        return super().default(o)


def _serialize_all(alias: str, payload: Path) -> None:
    """Every managed model's rows as JSON lines, primary keys kept (``loaddata`` reads it back)."""
    # Auto-created many-to-many tables go first, with their own ids: loading a parent then ``set()``s its
    # relations, which keeps rows that already exist (left to itself it would re-create them with new ids).
    models = sorted(apps.get_models(include_auto_created=True), key=lambda m: not m._meta.auto_created)
    with payload.open("w", encoding="utf-8") as stream:
        for model in models:
            if not model._meta.managed or model._meta.proxy:
                continue
            rows = model._base_manager.using(alias).order_by(model._meta.pk.name).iterator(chunk_size=_FETCH_ROWS)
            serializers.serialize("jsonl", rows, stream=stream, cls=LosslessJSONEncoder)


def logical_dump(alias: str, payload: Path) -> dict[str, TableSummary]:
    """Django's serialization (JSON lines) of every model and the summaries of the same snapshot."""
    connection = connections[alias]
    settings_dict = connection.settings_dict
    tables = model_tables(alias)
    with transaction.atomic(using=alias):
        if connection.vendor != "postgresql":
            # SQLite: our transaction starts with BEGIN IMMEDIATE (settings) and holds the write lock once it
            # has run a statement, so the plain-driver summaries read after the dump see exactly what was dumped.
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM django_migrations LIMIT 1")
            _serialize_all(alias, payload)
            return sqlite_summaries(Path(settings_dict["NAME"]), tables)
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        _serialize_all(alias, payload)
        with pg_connect(settings_dict, str(settings_dict["NAME"]), autocommit=False, snapshot_reads=True) as conn:
            import psycopg.sql

            conn.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot)))
            summaries = pg_summaries(conn, tables)
            conn.rollback()
        return summaries


# --- Staging copies: load, summarise, swap, discard -------------------------------------------------------


class Staging:
    """A copy of the live database, built from a backup beside it; swapped in only when it checks out."""

    def __init__(self, live_alias: str) -> None:
        self.live_alias = live_alias
        self.settings_dict = connections[live_alias].settings_dict
        self.vendor = connections[live_alias].vendor
        stamp = uuid.uuid4().hex[:8]
        live_name = str(self.settings_dict["NAME"])
        if self.vendor == "sqlite":
            live = Path(live_name)
            self.name = str(live.with_name(f".{live.name}.restore-{stamp}"))
        else:
            self.name = f"{live_name[:40]}_rs_{stamp}"

    # -- lifecycle
    def create_empty(self) -> None:
        if self.vendor == "postgresql":
            with pg_connect(self.settings_dict, "postgres") as admin:
                admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE template0')

    def discard(self) -> None:
        if self.vendor == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(self.name + suffix).unlink(missing_ok=True)
            return
        with pg_connect(self.settings_dict, "postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    # -- loading
    def load_sqlite_file(self, payload: Path) -> None:
        shutil.copyfile(payload, self.name)

    def load_pg_dump(self, payload: Path) -> None:
        self.create_empty()
        command = [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={self.name}",
            str(payload),
        ]
        result = subprocess.run(command, env=pg_env(self.settings_dict), capture_output=True, text=True)
        if result.returncode != 0:
            raise EngineError(f"pg_restore failed: {result.stderr.strip()[-2000:]}")

    def load_logical(self, payload: Path) -> list[str]:
        """Migrate the staging copy, empty it, load the dump; return its applied migrations."""
        self.create_empty()
        with django_alias(self.live_alias, NAME=self.name) as alias:
            self._migrate_in_subprocess()
            with _signals_muted():
                call_command("flush", database=alias, interactive=False, inhibit_post_migrate=True, verbosity=0)
                call_command("loaddata", str(payload), database=alias, verbosity=0)
            return applied_migrations(alias)

    def _migrate_in_subprocess(self) -> None:
        # A separate process whose *default* database is the staging copy: data migrations that ignore the
        # migration's database alias (e.g. count rebuilds) then cannot write into the live database.
        env = {**os.environ, "DATABASE_URL": self._database_url()}
        manage = Path(django_settings.BASE_DIR) / "manage.py"
        result = subprocess.run(
            [sys.executable, str(manage), "migrate", "--noinput", "-v", "0"], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise EngineError(f"migrating the staging copy failed: {result.stderr.strip()[-2000:]}")

    def _database_url(self) -> str:
        if self.vendor == "sqlite":
            return f"sqlite:///{self.name}"
        cfg = self.settings_dict
        auth = quote(str(cfg.get("USER") or ""), safe="")
        if cfg.get("PASSWORD"):
            auth += ":" + quote(str(cfg["PASSWORD"]), safe="")
        host = cfg.get("HOST") or "localhost"
        return f"postgres://{auth}@{host}:{cfg.get('PORT') or 5432}/{self.name}"

    # -- checking
    def summaries(self, tables: Iterable[str]) -> dict[str, TableSummary]:
        if self.vendor == "sqlite":
            return sqlite_summaries(Path(self.name), tables)
        with pg_connect(self.settings_dict, self.name, autocommit=False, snapshot_reads=True) as conn:
            try:
                return pg_summaries(conn, tables)
            finally:
                conn.rollback()

    def tables(self) -> list[str]:
        if self.vendor == "sqlite":
            conn = sqlite3.connect(f"file:{self.name}?mode=ro", uri=True)
            try:
                return sqlite_tables(conn)
            finally:
                conn.close()
        with pg_connect(self.settings_dict, self.name) as conn:
            return pg_tables(conn)

    # -- swapping
    def swap_in(self) -> None:
        """Replace the live database by this copy, all at once (other processes see the old or the new)."""
        connections[self.live_alias].close()
        if self.vendor == "sqlite":
            self._swap_sqlite()
        else:
            self._swap_pg()

    def _swap_sqlite(self) -> None:
        # Renaming a file under processes that hold it open (with its -wal/-shm) corrupts it; the backup API
        # writes the copy into the live database in one transaction, through SQLite's own locking.
        source = sqlite3.connect(self.name)
        target = sqlite3.connect(str(self.settings_dict["NAME"]), timeout=60)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()
            source.close()
        self.discard()

    def _swap_pg(self) -> None:
        import psycopg

        live = str(self.settings_dict["NAME"])
        previous = f"{live[:40]}_old_{uuid.uuid4().hex[:8]}"
        with pg_connect(self.settings_dict, "postgres") as admin:
            # Close the door, then end the sessions still on the live database (the app should be stopped or
            # in maintenance mode; the runbook's "stop application" step), then rename both in one transaction.
            admin.execute(f'ALTER DATABASE "{live}" ALLOW_CONNECTIONS false')
            try:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [live],
                )
                with admin.transaction():
                    admin.execute(f'ALTER DATABASE "{live}" RENAME TO "{previous}"')
                    admin.execute(f'ALTER DATABASE "{self.name}" RENAME TO "{live}"')
            except psycopg.Error as exc:
                admin.execute(f'ALTER DATABASE "{live}" ALLOW_CONNECTIONS true')
                raise EngineError(f"could not swap the restored database in: {exc}") from exc
            admin.execute(f'DROP DATABASE IF EXISTS "{previous}" WITH (FORCE)')

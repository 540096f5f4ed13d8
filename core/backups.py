"""Backups and restores of the whole database, checked against a manifest, and the nightly backup job.

A backup is one ``.tar.gz`` file holding ``manifest.json`` and a payload: a SQLite file (online backup API),
a ``pg_dump`` custom-format dump, or Django's JSON-lines serialization (``logical``; see
``core.backup_engines``). The manifest records the engine, the method, the applied migrations, the payload's
SHA-256 and, per table, the row count and an order-independent checksum of the rows.

A restore never touches the live database until the backup is proven whole: the payload is loaded into a
staging copy beside it (a file next to the SQLite database, or a new PostgreSQL database), its tables are
summarised and compared with the manifest, and only then is the copy swapped in, all at once. A mismatch
leaves the live database as it was and raises :class:`BackupError` with the reason. The checks prove
integrity (corruption, truncation, edits to either part), not authorship.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core import backup_engines as engines
from core.backup_engines import EngineError, TableSummary
from core.errors import ServiceError
from core.jobs import JobContext, job_enqueue, job_handler
from core.maintenance import maintenance_reset_cache
from core.models import Job, MaintenanceChange, User

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
MANIFEST_NAME = "manifest.json"
METHODS = ("auto", "native", "logical")
NIGHTLY_JOB_KIND = "core.backup"
_NIGHTLY_NAME = re.compile(r"^stamina-\d{8}T\d{6}Z\.tar\.gz$")
_PAYLOAD_NAMES = {"sqlite": "database.sqlite3", "pg_dump": "database.pgdump", "logical": "data.jsonl"}


class BackupError(ServiceError):
    """A backup could not be made, or a backup file is unusable (the message says why)."""


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    vendor: str
    method: str
    payload: str
    payload_sha256: str
    payload_bytes: int
    migrations: list[str]
    tables: dict[str, TableSummary]

    @property
    def total_rows(self) -> int:
        return sum(summary.rows for summary in self.tables.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != MANIFEST_FORMAT:
                raise BackupError("backup_invalid", f"Unknown manifest format {raw.get('format')!r}.")
            raw["tables"] = {name: TableSummary(**value) for name, value in raw["tables"].items()}
            manifest = cls(**raw)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BackupError("backup_invalid", f"The manifest is unreadable: {exc}") from exc
        if manifest.method not in _PAYLOAD_NAMES or manifest.payload != _PAYLOAD_NAMES[manifest.method]:
            raise BackupError("backup_invalid", f"Unknown backup method or payload {manifest.method!r}.")
        return manifest


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    bytes: int


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    restored: bool  # False for a check (``--check``): loaded and verified, then discarded
    pre_restore_backup: Path | None
    pending_migrations: list[str]


# --- Backup -----------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _resolve_method(vendor: str, method: str) -> str:
    if method not in METHODS:
        raise BackupError("validation_error", f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError("backup_unsupported", f"Backups support SQLite and PostgreSQL, not {vendor}.")
    if method == "logical":
        return "logical"
    if vendor == "sqlite":
        return "sqlite"
    if engines.pg_tools_available():
        return "pg_dump"
    if method == "native":
        raise BackupError("backup_unsupported", "pg_dump/pg_restore are not on PATH (use --method logical).")
    logger.warning("pg_dump is not on PATH: making a logical (Django serialization) backup instead")
    return "logical"


def default_backup_path(*, prefix: str = "stamina") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BACKUP_DIR) / f"{prefix}-{stamp}.tar.gz"


def backup_create(*, output: Path | None = None, method: str = "auto", using: str = DEFAULT_DB_ALIAS) -> BackupResult:
    """Write a backup of database ``using`` to ``output`` (default: a dated file in ``BACKUP_DIR``).

    The file appears only when complete (written beside it, then renamed). Safe while other processes write.
    """
    connection = connections[using]
    chosen = _resolve_method(connection.vendor, method)
    output = Path(output) if output is not None else default_backup_path()
    output.parent.mkdir(parents=True, exist_ok=True)
    migrations = engines.applied_migrations(using)
    with tempfile.TemporaryDirectory(prefix=".stamina-backup-", dir=output.parent) as work:
        payload = Path(work) / _PAYLOAD_NAMES[chosen]
        try:
            if chosen == "sqlite":
                tables = engines.sqlite_dump(Path(connection.settings_dict["NAME"]), payload)
            elif chosen == "pg_dump":
                tables = engines.pg_dump(using, payload)
            else:
                tables = engines.logical_dump(using, payload)
        except EngineError as exc:
            raise BackupError("backup_failed", str(exc)) from exc
        manifest = Manifest(
            format=MANIFEST_FORMAT,
            created_at=timezone.now().isoformat(),
            vendor=connection.vendor,
            method=chosen,
            payload=payload.name,
            payload_sha256=_sha256(payload),
            payload_bytes=payload.stat().st_size,
            migrations=migrations,
            tables=tables,
        )
        manifest_path = Path(work) / MANIFEST_NAME
        manifest_path.write_text(manifest.to_json())
        partial = Path(work) / "backup.tar.gz"
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            archive.add(manifest_path, arcname=MANIFEST_NAME)
            archive.add(payload, arcname=payload.name)
        partial.replace(output)
    size = output.stat().st_size
    logger.info(
        "backup written: %s (%s, %s tables, %s rows, %s bytes)", output, chosen, len(tables), manifest.total_rows, size
    )
    return BackupResult(path=output, manifest=manifest, bytes=size)


# --- Reading and checking a backup ------------------------------------------------------------------------


def backup_read_manifest(*, path: Path) -> Manifest:
    """The manifest of a backup file (without loading its data)."""
    try:
        with tarfile.open(path, "r:*") as archive:
            member = archive.getmember(MANIFEST_NAME)
            handle = archive.extractfile(member)
            if handle is None:
                raise BackupError("backup_invalid", "The manifest is not a regular file.")
            return Manifest.from_json(handle.read().decode())
    except FileNotFoundError as exc:
        raise BackupError("not_found", f"No backup file at {path}.", status=404) from exc
    except (tarfile.TarError, KeyError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise BackupError("backup_invalid", f"{path} is not a readable backup archive: {exc}") from exc


def _extract_payload(path: Path, manifest: Manifest, work: Path) -> Path:
    target = work / manifest.payload
    try:
        with tarfile.open(path, "r:*") as archive:
            member = archive.getmember(manifest.payload)
            source = archive.extractfile(member) if member.isfile() else None
            if source is None:
                raise BackupError("backup_invalid", f"{manifest.payload} is not a regular file in the backup.")
            with target.open("wb") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
    except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
        raise BackupError("backup_invalid", f"The backup's payload cannot be read: {exc}") from exc
    if _sha256(target) != manifest.payload_sha256:
        raise BackupError(
            "backup_tampered", f"{manifest.payload} does not match the SHA-256 in the manifest (corrupted or edited)."
        )
    return target


def _compare(expected: dict[str, TableSummary], actual: dict[str, TableSummary]) -> list[str]:
    problems = []
    for name, want in sorted(expected.items()):
        got = actual.get(name)
        if got is None:
            problems.append(f"{name}: missing")
        elif got.rows != want.rows:
            problems.append(f"{name}: {got.rows} rows, manifest says {want.rows}")
        elif got.checksum != want.checksum:
            problems.append(f"{name}: checksum differs from the manifest")
    return problems


def _load_and_verify(staging: engines.Staging, payload: Path, manifest: Manifest) -> None:
    try:
        if manifest.method == "sqlite":
            staging.load_sqlite_file(payload)
        elif manifest.method == "pg_dump":
            staging.load_pg_dump(payload)
        else:
            migrations = staging.load_logical(payload)
            if migrations != manifest.migrations:
                missing = sorted(set(manifest.migrations) - set(migrations))
                extra = sorted(set(migrations) - set(manifest.migrations))
                raise BackupError(
                    "backup_schema_mismatch",
                    "A logical backup loads only into the schema it was taken from; "
                    f"not in this code: {missing[:5]}, not in the backup: {extra[:5]}.",
                )
        actual = staging.summaries(manifest.tables)
    except EngineError as exc:
        raise BackupError("restore_failed", str(exc)) from exc
    except BackupError:
        raise
    except Exception as exc:  # a load that fails part-way: the staging copy is discarded, the reason reported
        raise BackupError("restore_failed", f"The backup could not be loaded: {type(exc).__name__}: {exc}") from exc
    problems = _compare(manifest.tables, actual)
    if problems:
        raise BackupError(
            "backup_tampered",
            f"The restored data does not match the manifest ({len(problems)} table(s)): " + "; ".join(problems[:10]),
            details={"tables": problems},
        )


def _maintenance_row(using: str) -> MaintenanceChange | None:
    """The maintenance switch of the live database when it is on (None when off)."""
    latest = MaintenanceChange.objects.using(using).order_by("-changed_at", "-id").first()
    return latest if latest is not None and latest.enabled else None


def _keep_maintenance_on(using: str, before: MaintenanceChange | None) -> None:
    """A restore replaces the maintenance switch with the backup's (usually off): keep it on when it was on, so
    writes stay refused until ops have checked the restored data and switch it off themselves."""
    if before is None or _maintenance_row(using) is not None:
        return
    MaintenanceChange.objects.using(using).create(
        enabled=True, reason=f"{before.reason} (kept on across a database restore)"[:500]
    )
    maintenance_reset_cache()


def _pending_migrations(using: str) -> list[str]:
    connection = connections[using]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def backup_restore(
    *, path: Path, check_only: bool = False, pre_backup: bool = True, using: str = DEFAULT_DB_ALIAS
) -> RestoreResult:
    """Restore database ``using`` from a backup file, or only check it (``check_only``).

    The backup is loaded into a staging copy and verified against its manifest first; the live database is
    replaced only when every table matches. ``pre_backup`` first writes a backup of the current state
    (``stamina-prerestore-*.tar.gz`` in ``BACKUP_DIR``), the runbook's "back up the current database" step.
    """
    path = Path(path)
    manifest = backup_read_manifest(path=path)
    vendor = connections[using].vendor
    if manifest.vendor != vendor:
        raise BackupError(
            "backup_wrong_engine", f"This backup is of a {manifest.vendor} database; this one is {vendor}."
        )
    if manifest.method == "pg_dump" and not engines.pg_tools_available():
        raise BackupError("backup_unsupported", "This backup needs pg_restore, which is not on PATH.")
    staging = engines.Staging(using)
    with tempfile.TemporaryDirectory(prefix="stamina-restore-") as work:
        payload = _extract_payload(path, manifest, Path(work))
        try:
            _load_and_verify(staging, payload, manifest)
            if check_only:
                return RestoreResult(manifest=manifest, restored=False, pre_restore_backup=None, pending_migrations=[])
            safety = (
                backup_create(output=default_backup_path(prefix="stamina-prerestore"), using=using).path
                if pre_backup
                else None
            )
            in_maintenance = _maintenance_row(using)
            staging.swap_in()
        except EngineError as exc:
            raise BackupError("restore_failed", str(exc)) from exc
        finally:
            staging.discard()
    _keep_maintenance_on(using, in_maintenance)
    logger.warning("database restored from %s (%s tables, %s rows)", path, len(manifest.tables), manifest.total_rows)
    return RestoreResult(
        manifest=manifest, restored=True, pre_restore_backup=safety, pending_migrations=_pending_migrations(using)
    )


# --- Retention and the nightly job ----------------------------------------------------------------------


def backups_list(*, directory: Path) -> list[Path]:
    """Nightly backups in ``directory`` (``stamina-YYYYmmddTHHMMSSZ.tar.gz``), oldest first."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and _NIGHTLY_NAME.match(p.name))


def backups_prune(*, directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` nightly backups; pre-restore and hand-named files are never touched."""
    if keep < 1:
        raise BackupError("validation_error", "keep must be at least 1.")
    doomed = backups_list(directory=directory)[:-keep]
    for old in doomed:
        old.unlink(missing_ok=True)
    return doomed


def backup_enqueue_nightly(*, created_by: User | None = None) -> Job | None:
    """Queue the nightly backup job unless one is already queued or running (then None)."""
    if Job.objects.filter(kind=NIGHTLY_JOB_KIND, status__in=Job.ACTIVE).exists():
        return None
    return job_enqueue(kind=NIGHTLY_JOB_KIND, params={}, created_by=created_by)


@job_handler(NIGHTLY_JOB_KIND)
def _nightly_backup(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Write a backup into ``BACKUP_DIR`` and keep the newest ``BACKUP_KEEP``. A re-run of a job whose file
    exists (its worker died after writing it) does not write a second one."""
    done = job.result.get("path")
    if done and Path(done).exists():
        written = Path(done)
    else:
        written = backup_create().path
        ctx.checkpoint(path=str(written))
    pruned = backups_prune(directory=Path(settings.BACKUP_DIR), keep=settings.BACKUP_KEEP)
    manifest = backup_read_manifest(path=written)
    return {
        "path": str(written),
        "bytes": written.stat().st_size,
        "method": manifest.method,
        "tables": len(manifest.tables),
        "rows": manifest.total_rows,
        "pruned": [p.name for p in pruned],
    }

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from core.backups import METHODS, backup_create
from core.commands import call_service


class Command(BaseCommand):
    help = (
        "Back up the whole database into one file (default: BACKUP_DIR/stamina-<UTC time>.tar.gz) with a manifest "
        "of row counts and checksums per table. SQLite: the online backup API; PostgreSQL: pg_dump when on PATH, "
        "else Django's serialization (--method logical). Safe while the app runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=None, help="File to write (.tar.gz).")
        parser.add_argument("--method", choices=METHODS, default="auto")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, output: Path | None, method: str, database: str, **options: Any) -> None:
        result = call_service(backup_create, output=output, method=method, using=database)
        manifest = result.manifest
        self.stdout.write(str(result.path))
        self.stderr.write(
            f"{manifest.method} backup of {manifest.vendor}: {len(manifest.tables)} tables, "
            f"{manifest.total_rows} rows, {result.bytes} bytes"
        )

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from core.backups import backup_restore
from core.commands import call_service


class Command(BaseCommand):
    help = (
        "Restore the database from a backup file made by `backup`. The backup is loaded into a staging copy and "
        "checked against its manifest (row counts and checksums per table) before it replaces the live database "
        "all at once; a mismatch exits 1 with the reason and changes nothing. Writes a pre-restore backup first "
        "(BACKUP_DIR/stamina-prerestore-*.tar.gz) unless --no-pre-backup. PostgreSQL: other sessions on the "
        "database are ended at the swap (stop the app or turn maintenance mode on first). --check only verifies."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--check", action="store_true", help="Load and verify into a staging copy only.")
        parser.add_argument("--no-pre-backup", action="store_true", help="Skip the backup of the current state.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, file: Path, check: bool, no_pre_backup: bool, database: str, **options: Any) -> None:
        result = call_service(backup_restore, path=file, check_only=check, pre_backup=not no_pre_backup, using=database)
        manifest = result.manifest
        summary = f"{len(manifest.tables)} tables, {manifest.total_rows} rows match the manifest"
        if not result.restored:
            self.stdout.write(f"OK: {file} is complete ({manifest.method}, {manifest.created_at}): {summary}.")
            return
        self.stdout.write(f"Restored from {file} ({manifest.method}, taken {manifest.created_at}): {summary}.")
        if result.pre_restore_backup:
            self.stdout.write(f"The state before the restore is in {result.pre_restore_backup}.")
        if result.pending_migrations:
            self.stdout.write(
                f"The backup predates {len(result.pending_migrations)} migration(s) of this code: "
                "run `manage.py migrate`."
            )

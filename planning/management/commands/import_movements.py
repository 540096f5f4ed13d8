"""import_movements FILE [--format stamina|free-exercise-db] [--publish] [--dry-run] [--dsn URL]"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import service_errors
from planning.services.movements import FORMATS, movements_import, movements_load_file
from planning.target_db import dsn_from, target_database


class Command(BaseCommand):
    help = (
        "Import movements: stage, validate every record (problems name the record index and field), then apply "
        "all or nothing. Idempotent. --dsn (or PLANNING_DATABASE_URL) seeds another database, migrated if empty."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, default="stamina")
        parser.add_argument("--publish", action="store_true", help="Publish the imported movements.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; change nothing.")
        parser.add_argument("--dsn", help="Database URL to seed instead of the project's (or PLANNING_DATABASE_URL).")
        parser.add_argument("--as", dest="actor", default="import_movements", help="Name recorded in the audit log.")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors(), ExitStack() as stack:
            dsn = dsn_from(options["dsn"])
            using = stack.enter_context(target_database(dsn)) if dsn else "default"
            loaded = movements_load_file(path=options["file"], fmt=options["format"])
            report = movements_import(
                records=loaded.records,
                source_file=str(options["file"]),
                fmt=options["format"],
                publish=options["publish"],
                dry_run=options["dry_run"],
                actor=options["actor"],
                unplaced=loaded.unplaced,
                using=using,
            )
        for problem in report.problems[:50]:
            self.stderr.write(str(problem))
        if len(report.problems) > 50:
            self.stderr.write(f"… and {len(report.problems) - 50} more problem(s) (see the import run in the admin)")
        if report.unplaced and options["verbosity"] > 1:
            self.stdout.write("not placed: " + ", ".join(report.unplaced))
        for line in report.summary_lines():
            self.stdout.write(line)
        if report.status == "rejected":
            raise CommandError(f"rejected: {len(report.problems)} problem(s); nothing was stored")

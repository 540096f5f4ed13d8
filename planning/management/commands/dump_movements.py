"""dump_movements FILE [--dsn URL]: the library in the import format (restore = import_movements FILE)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.commands import service_errors
from planning.services.movements import movements_dump
from planning.target_db import dsn_from, target_database


class Command(BaseCommand):
    help = "Write every movement (with its status) in the Stamina import format."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dsn", help="Dump another database (or PLANNING_DATABASE_URL).")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors(), ExitStack() as stack:
            dsn = dsn_from(options["dsn"])
            using = stack.enter_context(target_database(dsn, migrate=False)) if dsn else "default"
            dump = movements_dump(using=using)
        options["file"].write_text(json.dumps(dump, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        self.stdout.write(f"Wrote {len(dump['movements'])} movements to {options['file']}")

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.schedules import schedules_sync


class Command(BaseCommand):
    help = "Create the periodic tasks every app registers in django-celery-beat (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Restore registered defaults over admin edits.")

    def handle(self, *args: Any, reset: bool, **options: Any) -> None:
        report = schedules_sync(reset=reset)
        for label, names in (("created", report.created), ("reset", report.updated), ("kept", report.unchanged)):
            for name in names:
                self.stdout.write(f"{label}: {name}")

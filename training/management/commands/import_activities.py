"""Import activity files for an athlete: ``manage.py import_activities --athlete ID PATH...`` (folders too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import actor_from
from core.errors import ServiceError
from core.models import User
from training.services import activity_import

SUFFIXES = (".fit", ".tcx", ".gpx", ".json", ".fit.gz", ".tcx.gz", ".gpx.gz", ".json.gz")


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)))
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"No such file or folder: {path}")
    return found


class Command(BaseCommand):
    help = "Import FIT/TCX/GPX/JSON files (or every such file in a folder) for an athlete and score them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--athlete", type=int, required=True, help="The athlete's user id.")
        parser.add_argument("--as", dest="actor", default=None, help="Username recorded as the importer.")
        parser.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args: Any, athlete: int, actor: str | None, paths: list[Path], **options: Any) -> None:
        try:
            user = User.objects.get(pk=athlete)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user with id {athlete}.") from exc
        importer = actor_from(actor)
        failures = 0
        for path in _files(paths):
            try:
                result = activity_import(actor=importer, athlete=user, data=path.read_bytes(), filename=path.name)
            except ServiceError as exc:
                failures += 1
                reason = (exc.details or {}).get("reason") if isinstance(exc.details, dict) else None
                self.stderr.write(f"{path}: {exc.code}{f' ({reason})' if reason else ''}: {exc.message}")
                continue
            activity = result.activity
            state = "imported" if result.created else "already imported"
            trimp = "—" if activity.trimp is None else f"{activity.trimp:.1f}"
            detail = activity.trimp_error_code or f"{activity.trimp_calculation_method}, {activity.trimp_method_reason}"
            self.stdout.write(f"{path}: {state} as activity {activity.pk}, TRIMP {trimp} ({detail})")
        if failures:
            raise CommandError(f"{failures} file(s) could not be imported.")

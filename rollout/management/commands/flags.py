from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import actor_from, call_service
from rollout import flags, selectors, services


class Command(BaseCommand):
    help = "Feature flags: list, check NAME --user ID, export FILE, import FILE [--dry-run]."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Every flag with its cohorts, percent and kill state.")
        check = sub.add_parser("check", help="Print the answer and its reason for one user.")
        check.add_argument("name")
        check.add_argument("--user", type=int, required=True, dest="user_id")
        export = sub.add_parser("export", help="Write every flag to FILE as JSON ('-' for stdout).")
        export.add_argument("file")
        imp = sub.add_parser("import", help="Import FILE (all or nothing; a backup export is written first).")
        imp.add_argument("file")
        imp.add_argument("--dry-run", action="store_true")
        imp.add_argument("--as", dest="actor", default=None, help="Username recorded in the history.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"do_{action}")(**options)

    def do_list(self, **options: Any) -> None:
        for flag in selectors.flags_overview():
            cohorts = " ".join(f"{k}={'on' if v else 'off'}" for k, v in flag["cohorts"].items())
            stage = flag["rollout"]["stage"] if flag["rollout"] else "-"
            killed = " KILLED" if flag["killed"] else ""
            everyone = " everyone" if flag["everyone"] else ""
            self.stdout.write(f"{flag['name']:<32} {cohorts} percent={flag['percent']} stage={stage}{killed}{everyone}")

    def do_check(self, *, name: str, user_id: int, **options: Any) -> None:
        flags.reset()
        enabled, reason = flags.evaluate(name, user_id=user_id)
        state = "on" if enabled else "off"
        bucket = flags.bucket(name, user_id)
        self.stdout.write(f"{name} for user {user_id}: {state} (reason: {reason}, bucket {bucket})")

    def do_export(self, *, file: str, **options: Any) -> None:
        if file == "-":
            self.stdout.write(json.dumps(services.flags_export_data(), indent=2, sort_keys=True))
            return
        path = Path(file)
        if not path.parent.is_dir():
            raise CommandError(f"Folder {path.parent} does not exist.")
        count = services.flags_export(path=path)
        self.stdout.write(f"exported {count} flags to {path}")

    def do_import(self, *, file: str, dry_run: bool, actor: str | None, **options: Any) -> None:
        report = call_service(services.flags_import, path=Path(file), actor=actor_from(actor), dry_run=dry_run)
        prefix = "dry run: would have " if dry_run else ""
        self.stdout.write(
            f"{prefix}created {len(report['created'])}, updated {len(report['updated'])}, "
            f"unchanged {len(report['unchanged'])}"
        )
        for key in ("created", "updated"):
            for name in report[key]:
                self.stdout.write(f"  {key}: {name}")
        if report["backup"]:
            self.stdout.write(f"backup of the previous state: {report['backup']}")

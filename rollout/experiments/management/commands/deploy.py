"""``manage.py deploy --action …``: the seed's deployment manager over configs/*.yml (a thin command)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ServiceError
from core.models import User
from rollout.experiments.deployment.engine import (
    DEPLOY_ALL,
    DeployReport,
    deployment_report,
    deployment_rollback,
    deployment_run,
    deployment_status,
)
from rollout.experiments.deployment.sections import registered_sections

ACTIONS = [DEPLOY_ALL, "deploy-feature-flags", "deploy-ab-testing", "deploy-performance-monitoring"]
ACTIONS += ["deploy-user-feedback", "status", "report", "rollback"]


def _value(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


class Command(BaseCommand):
    help = (
        "Deploy flags, A/B tests, alert thresholds and feedback routing from configs/*.yml; status, report, rollback."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--action", required=True, choices=ACTIONS)
        parser.add_argument("--dry-run", action="store_true", help="Show the changes; apply nothing.")
        parser.add_argument("--config-dir", default=str(Path(settings.BASE_DIR) / "configs"))
        parser.add_argument("--output", help="report: file to write (.json or .md); default var/deployment-report.md")
        parser.add_argument("--as", dest="actor", help="Username recorded as the actor.")

    def handle(self, *args: Any, **options: Any) -> None:
        config_dir = Path(options["config_dir"])
        actor = User.objects.filter(username=options["actor"]).first() if options["actor"] else None
        action = options["action"]
        try:
            if action == "status":
                self._status(deployment_status(config_dir=config_dir))
            elif action == "report":
                output = Path(options["output"] or Path(settings.VAR_DIR) / "deployment-report.md")
                output.parent.mkdir(parents=True, exist_ok=True)
                self.stdout.write(f"report written to {deployment_report(config_dir=config_dir, output=output)}")
            elif action == "rollback":
                self._changes(deployment_rollback(actor=actor, dry_run=options["dry_run"]))
            else:
                report = deployment_run(config_dir=config_dir, action=action, actor=actor, dry_run=options["dry_run"])
                self._changes(report)
        except ServiceError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def _changes(self, report: DeployReport) -> None:
        prefix = "would " if report.dry_run else ""
        if not report.changes:
            self.stdout.write(f"{report.action}: nothing to change ({', '.join(report.sections)} match).")
            return
        for change in report.changes:
            self.stdout.write(f"{prefix}{change.kind} {change.section} {change.name}")
            for field in change.fields:
                before = (change.before or {}).get(field)
                after = (change.after or {}).get(field)
                self.stdout.write(f"    {field}: {_value(before)} → {_value(after)}")
        done = "dry run, nothing applied" if report.dry_run else f"deployment #{report.deployment_id} (backup stored)"
        self.stdout.write(f"{report.action}: {len(report.changes)} change(s); {done}.")

    def _status(self, status: dict[str, Any]) -> None:
        for name, section in status["sections"].items():
            self.stdout.write(
                f"{name} (configs/{section['file']}): {section['in_files']} in file, "
                f"{len(section['in_sync'])} in sync, "
                f"{len(section['drifted'])} drifted, {len(section['missing'])} not deployed"
            )
            for item, fields in section["drifted"].items():
                self.stdout.write(f"    drifted {item}: {', '.join(fields)}")
            for item in section["missing"]:
                self.stdout.write(f"    not deployed {item}")
        last = status["deployments"][:1]
        if last:
            d = last[0]
            self.stdout.write(f"last: #{d['id']} {d['action']} {', '.join(d['sections'])} at {d['at']}")
        self.stdout.write(f"sections: {', '.join(s.name for s in registered_sections())}")

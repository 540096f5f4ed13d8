"""Recalculate stored TRIMP: ``manage.py recalculate_trimp [--athlete ID] [--since DATE] [--dry-run]``.

Runs the job in this process by default (the same chunked code the workers run) and prints its report;
``--background`` queues it for the workers and prints the job id.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import actor_from, service_errors
from core.jobs import job_run
from training.recalculation import recalculation_start
from training.selectors import recalculation_status


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--since must be a date (YYYY-MM-DD), got {value!r}") from exc


class Command(BaseCommand):
    help = "Recalculate TRIMP for all activities, one athlete's, or those since a date (optionally a dry run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--athlete", type=int, default=None, help="Only this athlete's activities.")
        parser.add_argument("--since", type=_date, default=None, help="Only activities on or after this local day.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument("--reason", default="", help="Why (kept with the job).")
        parser.add_argument("--as", dest="actor", default=None, help="Username recorded as the requester.")
        parser.add_argument("--background", action="store_true", help="Queue for the workers instead of running here.")
        parser.add_argument("--json", action="store_true", help="Print the full status as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        with service_errors():
            job = recalculation_start(
                actor=actor_from(options["actor"]),
                athlete_id=options["athlete"],
                since=options["since"],
                dry_run=options["dry_run"],
                reason=options["reason"],
                trigger="command",
                send=options["background"],
            )
        if options["background"]:
            self.stdout.write(f"queued recalculation job {job.pk}")
            return
        finished = job_run(job.pk) or job
        finished.refresh_from_db()
        status = recalculation_status(finished)
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, default=str))
        else:
            counts = status["counts"]
            self.stdout.write(
                f"job {job.pk} {status['status']}{' (dry run)' if status['dry_run'] else ''}: "
                f"{counts.get('processed', 0)} processed, {counts.get('changed', 0)} "
                f"{'would change' if status['dry_run'] else 'changed'}, {counts.get('unchanged', 0)} unchanged, "
                f"{counts.get('failed', 0)} without TRIMP"
            )
            for mover in status["report"].get("top_movers", [])[:10]:
                self.stdout.write(
                    f"  activity {mover['activity_id']} ({mover['date']}): {mover['old']:.1f} → {mover['new']:.1f} "
                    f"({mover['old_method']} → {mover['new_method']})"
                )
        if finished.status != "succeeded":
            raise CommandError(f"job {job.pk} {finished.status}: {finished.error}")

"""``manage.py refit_readiness [--athlete ID | --all] [--wait]``: queue a refit job (the admin button's job).

Exit 0 when queued (or finished with ``--wait``), 2 when a refit is already running, 1 on another error.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ServiceError
from planning.readiness.models import RefitRun
from planning.readiness.refit import RefitAlreadyRunning, refit_start


class Command(BaseCommand):
    help = "Refit the readiness model for all athletes (a new version) or one athlete."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--athlete", type=int, help="refit one athlete under the active version")
        group.add_argument("--all", action="store_true", help="refit every athlete (default)")
        parser.add_argument("--reason", default="manual refit")
        parser.add_argument("--wait", type=float, default=0, help="seconds to wait for a worker to finish it")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = RefitRun.Scope.ATHLETE if options["athlete"] else RefitRun.Scope.ALL
        try:
            run = refit_start(scope=scope, athlete_id=options["athlete"], reason=options["reason"], trigger="command")
        except RefitAlreadyRunning as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=2) from exc
        except ServiceError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"refit run {run.pk} queued as job {run.job_id} ({scope})")
        deadline = time.monotonic() + options["wait"]
        while options["wait"] and time.monotonic() < deadline:
            run.refresh_from_db()
            if not run.current:
                self.stdout.write(f"refit run {run.pk}: {run.status} (version {run.version}) {run.error}")
                if run.status != RefitRun.Status.SUCCEEDED:
                    raise CommandError(f"refit failed: {run.error}")
                return
            time.sleep(0.5)

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.jobs import job_enqueue
from core.models import Job


class Command(BaseCommand):
    help = "Send a core.ping job through the broker and wait for a worker to finish it (a round-trip check)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=float, default=30.0, help="Seconds to wait (default 30).")

    def handle(self, *args: Any, timeout: float, **options: Any) -> None:
        started = time.monotonic()
        job = job_enqueue(kind="core.ping", params={"echo": "ping_worker"})
        while time.monotonic() - started < timeout:
            job.refresh_from_db()
            if job.status == Job.Status.SUCCEEDED:
                self.stdout.write(f"pong from job {job.pk} in {time.monotonic() - started:.2f} s")
                return
            if job.status == Job.Status.FAILED:
                raise CommandError(f"job {job.pk} failed: {job.error}")
            time.sleep(0.2)
        raise CommandError(f"no worker finished job {job.pk} within {timeout:.0f} s (is a worker running?)")

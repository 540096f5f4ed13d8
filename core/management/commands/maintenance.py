from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.commands import actor_from, call_service
from core.maintenance import maintenance_reset_cache, maintenance_set, maintenance_state


class Command(BaseCommand):
    help = (
        "Read-only maintenance mode: `maintenance on --reason R` refuses API writes and admin saves with 503, "
        "`maintenance off --reason R` ends it, `maintenance status` shows it. Web processes see a change "
        "within MAINTENANCE_CACHE_SECONDS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["on", "off", "status"])
        parser.add_argument("--reason", default="", help="Why (required for on/off; shown to clients).")
        parser.add_argument("--as", dest="as_user", default=None, help="Username recorded as the actor.")

    def handle(self, *args: Any, action: str, reason: str, as_user: str | None, **options: Any) -> None:
        if action != "status":
            if not reason.strip():
                raise CommandError("--reason is required to switch maintenance mode.")
            call_service(maintenance_set, enabled=action == "on", reason=reason, actor=actor_from(as_user))
        maintenance_reset_cache()
        state = maintenance_state()
        since = state.since.isoformat() if state.since else "-"
        self.stdout.write(
            f"maintenance {'ON' if state.enabled else 'off'} (source {state.source}, since {since}, "
            f"by {state.changed_by or '-'}): {state.reason or '-'}"
        )

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models import User
from core.services import token_create


class Command(BaseCommand):
    help = "Create a Bearer API token for USERNAME and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--ttl-hours", type=int, default=None, help="Lifetime in hours (default API_TOKEN_TTL_HOURS; 0 = never)."
        )

    def handle(self, *args: Any, username: str, ttl_hours: int | None, **options: Any) -> None:
        if ttl_hours is not None and ttl_hours < 0:
            raise CommandError("--ttl-hours must be 0 or more.")
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        instance, token = token_create(user=user, ttl_hours=ttl_hours)
        self.stdout.write(token)
        expiry = instance.expiry.isoformat() if instance.expiry else "never"
        self.stderr.write(f"token for {username} (id {user.pk}) expires {expiry}; it is not shown again.")

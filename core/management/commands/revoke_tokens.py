from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.models import User
from core.services import tokens_revoke


class Command(BaseCommand):
    help = "Revoke the API tokens of USERNAME... or, with --all, of everyone (incident response)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="*")
        parser.add_argument("--all", action="store_true", help="Revoke every token of every user.")
        parser.add_argument("--reason", required=True, help="Why (logged).")

    def handle(self, *args: Any, usernames: list[str], all: bool, reason: str, **options: Any) -> None:
        if all == bool(usernames):
            raise CommandError("Name users or pass --all (not both).")
        user_ids = None
        if usernames:
            found = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
            missing = sorted(set(usernames) - set(found))
            if missing:
                raise CommandError(f"No user named {', '.join(missing)}.")
            user_ids = list(found.values())
        revoked = tokens_revoke(user_ids=user_ids, actor=None, reason=reason)
        self.stdout.write(f"revoked {revoked} token(s)")

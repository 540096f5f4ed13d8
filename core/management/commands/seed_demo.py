from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.demo import demo_seed


class Command(BaseCommand):
    help = "Create the demo users (admin=1, beta=2,3, regular=4, a coach, athletes) and each app's demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=None, help="Demo password (default $DEMO_PASSWORD or 'stamina').")
        parser.add_argument("--force", action="store_true", help="Allow seeding under production settings.")

    def handle(self, *args: Any, password: str | None, force: bool, **options: Any) -> None:
        if settings.PRODUCTION and not force:
            raise CommandError("Refusing to seed demo data under production settings (use --force).")
        password = password or os.environ.get("DEMO_PASSWORD") or "stamina"
        users, summaries = demo_seed(password=password)
        self.stdout.write(f"Demo users (password: {password}):")
        self.stdout.write(f"  {users.admin.pk:>3}  {users.admin.username:<10} staff/admin  (ops console /admin/)")
        for user in users.beta:
            self.stdout.write(f"  {user.pk:>3}  {user.username:<10} athlete, beta cohort")
        self.stdout.write(f"  {users.regular.pk:>3}  {users.regular.username:<10} athlete, regular")
        self.stdout.write(f"  {users.coach.pk:>3}  {users.coach.username:<10} coach")
        first, last = users.athletes[0], users.athletes[-1]
        self.stdout.write(f"  {first.pk}-{last.pk}  {first.username}..{last.username} athletes")
        for line in summaries:
            self.stdout.write(line)

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_schedules(sender: AppConfig, **kwargs: Any) -> None:
    from core.schedules import schedules_sync  # not at the top: apps.py is imported before models may be

    schedules_sync()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core (users, jobs)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Not at the top: these modules use models, which only exist once the app registry is ready.
        from core import backups, jobs, tasks  # noqa: F401  (register handlers and tasks)

        # After `migrate` the beat schedules exist without a separate step; `setup_schedules` does the same.
        post_migrate.connect(_sync_schedules, sender=self, dispatch_uid="core.sync_schedules")

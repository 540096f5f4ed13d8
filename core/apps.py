from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_schedules(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Not at the top: apps.py is imported before models may be.
    from core.migration_state import app_tables_present
    from core.schedules import schedules_sync

    if not (app_tables_present("django_celery_beat", using) and app_tables_present("core", using)):
        return  # an app was just migrated to zero
    schedules_sync()


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core (users, jobs)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Not at the top: these modules use models, which only exist once the app registry is ready.
        from core import backups, jobs, tasks, token_revocation  # noqa: F401  (register handlers and tasks)

        token_revocation.connect()

        # After `migrate` the beat schedules exist without a separate step; `setup_schedules` does the same.
        post_migrate.connect(_sync_schedules, sender=self, dispatch_uid="core.sync_schedules")

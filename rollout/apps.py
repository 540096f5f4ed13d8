from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_flags(sender: AppConfig, **kwargs: Any) -> None:
    from rollout.services import flags_sync_registered

    flags_sync_registered()


class RolloutConfig(AppConfig):
    name = "rollout"
    verbose_name = "Rollout (flags, staged rollouts)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rollout import signals

        signals.connect()
        post_migrate.connect(_sync_flags, sender=self, dispatch_uid="rollout.sync_flags")

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_rules(sender: Any, **kwargs: Any) -> None:
    from planning.readiness.services import guard_rule_sync, rules_sync_defaults

    rules_sync_defaults()
    guard_rule_sync()


class ReadinessConfig(AppConfig):
    name = "planning.readiness"
    label = "readiness"
    verbose_name = "Readiness"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.demo import register_seeder
        from planning.readiness import refit, schedules  # noqa: F401  (job handlers and the nightly beat entry)
        from planning.readiness.demo import seed_readiness_demo
        from rollout.registry import FlagSpec, register_flag

        register_flag(
            FlagSpec(
                name="readiness_personal_model",
                description="Predict session quality from the athlete's own model (off: population priors).",
                default_on=False,
                owner="readiness",
            )
        )
        register_seeder(60, "readiness", seed_readiness_demo)
        post_migrate.connect(_sync_rules, sender=self, dispatch_uid="readiness.sync_rules")

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_rules(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # imported here: services use models, which exist only once the app registry is ready
    from core.migration_state import app_tables_present
    from planning.readiness.services import rules_sync_defaults

    if not app_tables_present("readiness", using):  # `migrate ... zero` just dropped them: nothing to sync
        return
    rules_sync_defaults()


class ReadinessConfig(AppConfig):
    name = "planning.readiness"
    label = "readiness"
    verbose_name = "Readiness"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports here, not at the top: these modules define or use models, which only exist once the app
        # registry is ready (the Django convention for AppConfig.ready).
        from core.demo import register_seeder
        from planning.readiness import (
            ops,  # noqa: F401  (registers the flag and the guard alert rule)
            refit,  # noqa: F401  (registers the refit and posterior-update job handlers)
            schedules,  # noqa: F401  (registers the nightly beat entry)
        )
        from planning.readiness.demo import seed_readiness_demo
        from planning.readiness.experiment_metrics import register as register_experiment_metrics

        register_seeder(65, "readiness", seed_readiness_demo)  # after planning (60): links to its demo plan
        register_experiment_metrics()
        post_migrate.connect(_sync_rules, sender=self, dispatch_uid="readiness.sync_rules")

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_defaults(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Not at the top: apps.py is imported before models may be (AppConfig convention), see ready().
    from core.migration_state import app_tables_present
    from rollout.monitoring.defaults import monitoring_sync_defaults
    from rollout.services import flags_sync_registered

    if not (app_tables_present("rollout", using) and app_tables_present("monitoring", using)):
        return  # `migrate rollout zero` (or monitoring) just dropped them
    flags_sync_registered()
    monitoring_sync_defaults()


def _on_job_finished(sender: Any, kind: str, outcome: str, seconds: float, **kwargs: Any) -> None:
    from rollout.monitoring import increment, record  # see _sync_defaults

    record("jobs.duration_ms", seconds * 1000.0, kind=kind, outcome=outcome)
    increment("jobs.finished", kind=kind, outcome=outcome)


class RolloutConfig(AppConfig):
    name = "rollout"
    verbose_name = "Rollout (flags, rollouts, guards)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports here, not at the top: these modules define or use models, which only exist once the app
        # registry is ready (the Django convention for AppConfig.ready).
        from prometheus_client import REGISTRY

        from core.demo import register_seeder
        from core.schedules import ScheduleSpec, register_schedule
        from core.signals import job_finished
        from rollout import (
            guards,  # noqa: F401  (registers the guard gate and the after-evaluation hook)
            signals,
            validation,  # noqa: F401  (registers the pre-deployment gate)
        )
        from rollout.demo import seed_rollout_demo
        from rollout.monitoring.prometheus import RecordedMetricsCollector

        signals.connect()
        register_seeder(10, "rollout", seed_rollout_demo)
        post_migrate.connect(_sync_defaults, sender=self, dispatch_uid="rollout.sync_defaults")
        job_finished.connect(_on_job_finished, dispatch_uid="rollout.job_metrics")
        if not getattr(RolloutConfig, "_collector_registered", False):
            REGISTRY.register(RecordedMetricsCollector())
            RolloutConfig._collector_registered = True  # type: ignore[attr-defined]
        register_schedule(
            ScheduleSpec(
                name="rollout: evaluate alert rules",
                task="rollout.evaluate_rules",
                every_seconds=60,
                description="Evaluate threshold rules, open/resolve alerts and let guarded rollouts react.",
            )
        )
        register_schedule(
            ScheduleSpec(
                name="rollout: retry notifications",
                task="rollout.retry_notifications",
                every_seconds=60,
                description="Deliver notifications that failed or whose message was lost.",
            )
        )
        register_schedule(
            ScheduleSpec(
                name="rollout: purge old metrics",
                task="rollout.purge_metrics",
                crontab={"minute": "41", "hour": "4"},
                description="Delete per-minute metric aggregates older than METRICS_RETENTION_DAYS.",
            )
        )

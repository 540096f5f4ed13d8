from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _uncount(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Deleting an item (e.g. with its user) takes it out of the daily counts."""
    from feedback import rollup  # not at the top: apps.py is imported before models may be (see ready())

    rollup.move(instance, rollup.keys(instance), None)


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Feedback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports here, not at the top: these modules define or use models, which only exist once the app
        # registry is ready (the Django convention for AppConfig.ready).
        from django.db.models.signals import post_delete

        from core.demo import register_seeder
        from core.schedules import ScheduleSpec, register_schedule
        from feedback import services  # noqa: F401  (registers the triage job handler)
        from feedback.demo import seed_feedback_demo
        from feedback.deploy_section import register as register_deploy_section
        from feedback.experiment_metrics import register as register_experiment_metrics
        from feedback.models import Feedback

        register_seeder(50, "feedback", seed_feedback_demo)
        register_experiment_metrics()
        register_deploy_section()
        post_delete.connect(_uncount, sender=Feedback, dispatch_uid="feedback.uncount")
        register_schedule(
            ScheduleSpec(
                name="feedback: rebuild daily counts",
                task="feedback.rebuild_counts",
                crontab={"minute": "23", "hour": "4"},
                description="Recompute the summary's daily counts from the items (heals any drift).",
            )
        )

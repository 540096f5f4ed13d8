from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _uncount(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Deleting an item (e.g. with its user) takes it out of the daily counts."""
    from feedback import rollup

    rollup.move(instance, rollup.keys(instance), None)


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Feedback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.demo import register_seeder
        from feedback import services  # noqa: F401  (registers the triage job handler)
        from feedback.demo import seed_feedback_demo
        from feedback.deploy_section import register as register_deploy_section
        from feedback.experiment_metrics import register as register_experiment_metrics

        register_seeder(50, "feedback", seed_feedback_demo)
        register_experiment_metrics()
        register_deploy_section()
        from django.db.models.signals import post_delete

        from core.schedules import ScheduleSpec, register_schedule
        from feedback.models import Feedback

        post_delete.connect(_uncount, sender=Feedback, dispatch_uid="feedback.uncount")
        register_schedule(
            ScheduleSpec(
                name="feedback: rebuild daily counts",
                task="feedback.rebuild_counts",
                crontab={"minute": "23", "hour": "4"},
                description="Recompute the summary's daily counts from the items (heals any drift).",
            )
        )

from __future__ import annotations

from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Feedback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.demo import register_seeder
        from feedback import services  # noqa: F401  (registers the triage job handler)
        from feedback.demo import seed_feedback_demo

        register_seeder(50, "feedback", seed_feedback_demo)

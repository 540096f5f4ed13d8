from __future__ import annotations

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training load"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rollout.registry import FlagSpec, register_flag

        register_flag(
            FlagSpec(
                name="enhanced_trimp_calculation",
                description="Score activities with stream-based (enhanced) TRIMP instead of the average-HR method.",
                default_on=False,
                owner="training",
            )
        )

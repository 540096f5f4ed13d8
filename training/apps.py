from __future__ import annotations

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training load"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.demo import register_seeder
        from rollout.registry import FlagSpec, register_flag
        from rollout.validation import require_task
        from training import recalculation  # noqa: F401  (registers the training.recalculate job handler)
        from training.demo import seed_training_demo
        from training.experiment_metrics import register as register_experiment_metrics

        register_flag(
            FlagSpec(
                name="enhanced_trimp_calculation",
                description="Score activities with stream-based (enhanced) TRIMP instead of the average-HR method.",
                default_on=False,
                owner="training",
            )
        )
        require_task("training.recalculate_help")
        register_experiment_metrics()
        register_seeder(50, "training", seed_training_demo)

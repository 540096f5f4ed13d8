from __future__ import annotations

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Training load"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports here, not at the top: these modules define or use models, which only exist once the app
        # registry is ready (the Django convention for AppConfig.ready).
        from core.demo import register_seeder
        from rollout.validation import require_task
        from training import (
            ops,  # noqa: F401  (registers the flag, TRIMP alert rules and the demo rollout)
            recalculation,  # noqa: F401  (registers the training.recalculate job handler)
        )
        from training.demo import seed_training_demo
        from training.experiment_metrics import register as register_experiment_metrics

        require_task("training.recalculate_help")
        register_experiment_metrics()
        register_seeder(50, "training", seed_training_demo)

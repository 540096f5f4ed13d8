from __future__ import annotations

from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "rollout.experiments"
    label = "experiments"
    verbose_name = "Experiments (A/B tests, shadow comparisons, deployments)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports here, not at the top: these modules define or use models, which only exist once the app
        # registry is ready (the Django convention for AppConfig.ready).
        from core.demo import register_seeder
        from core.schedules import ScheduleSpec, register_schedule
        from rollout.experiments import (  # noqa: F401  (register the experiments.analyse / .shadow job handlers)
            analysis,
            shadow_runs,
        )
        from rollout.experiments.demo import seed_experiments_demo

        # After training (50) and feedback (50): the demo shadow comparison reads the demo activities.
        register_seeder(60, "experiments", seed_experiments_demo)
        register_schedule(
            ScheduleSpec(
                name="experiments: analyse running experiments",
                task="experiments.analyse_running",
                crontab={"minute": "7", "hour": "*"},
                description="Queue one analysis job per running experiment (results stored with the time computed).",
            )
        )

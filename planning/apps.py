from __future__ import annotations

from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imports here, not at the top: these modules define or use models, which only exist once the app
        # registry is ready (the Django convention for AppConfig.ready).
        from core.demo import register_seeder
        from core.schedules import ScheduleSpec, register_schedule
        from planning import (
            ops,  # noqa: F401  (registers the scoring flag and the planning alert rules)
            tasks,  # noqa: F401  (the library-size beat task)
        )
        from planning.demo import seed_planning_demo
        from planning.experiment_metrics import register as register_experiment_metrics
        from planning.services import plans  # noqa: F401  (registers the planning.generate job handler)

        register_seeder(60, "planning", seed_planning_demo)
        register_experiment_metrics()
        register_schedule(
            ScheduleSpec(
                name="planning: sample movement library size",
                task="planning.record_library_size",
                every_seconds=300,
                description="Record the published-movement count for the 'Movement library below 8' alert rule.",
            )
        )

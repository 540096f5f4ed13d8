from __future__ import annotations

from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at module top: an AppConfig module is loaded before the app registry is ready.
        from core.demo import register_seeder
        from core.schedules import ScheduleSpec, register_schedule
        from planning import monitoring, tasks  # noqa: F401  (tasks: the library-size beat task)
        from planning.demo import seed_planning_demo
        from planning.services import plans  # noqa: F401  (registers the planning.generate job handler)
        from rollout.registry import FlagSpec, register_flag

        register_flag(
            FlagSpec(
                name="v1_planning_scoring",
                description="Score generated plans with the v1 fixed-weight scoring.",
                default_on=False,
                env_override="FEATURE_V1_PLANNING_SCORING",
                owner="planning",
            )
        )
        monitoring.register_rules()
        register_seeder(60, "planning", seed_planning_demo)
        register_schedule(
            ScheduleSpec(
                name="planning: sample movement library size",
                task="planning.record_library_size",
                every_seconds=300,
                description="Record the published-movement count for the 'Movement library below 8' alert rule.",
            )
        )

from __future__ import annotations

from django.apps import AppConfig


class PlanningConfig(AppConfig):
    name = "planning"
    verbose_name = "Planning"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
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

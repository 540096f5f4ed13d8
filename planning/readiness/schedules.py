"""The nightly refit's beat entry (02:00 UTC), written into django-celery-beat by ``setup_schedules``."""

from __future__ import annotations

from core.schedules import ScheduleSpec, register_schedule

NIGHTLY_REFIT = "readiness: nightly refit"

register_schedule(
    ScheduleSpec(
        name=NIGHTLY_REFIT,
        task="readiness.nightly_refit",
        crontab={"minute": "0", "hour": "2"},
        description="Refit the readiness model (population EM + every athlete's posterior) as a new version.",
    )
)

"""One place for periodic schedules: apps declare them here, `setup_schedules` writes them into
django-celery-beat (idempotently), where ops see and edit them in the admin.

A schedule that already exists is left as ops set it (interval, enabled) unless ``reset=True``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    task: str
    every_seconds: int | None = None
    crontab: dict[str, str] | None = None  # minute, hour, day_of_week, day_of_month, month_of_year
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""


_SPECS: dict[str, ScheduleSpec] = {}


def register_schedule(spec: ScheduleSpec) -> None:
    if (spec.every_seconds is None) == (spec.crontab is None):
        raise ValueError(f"schedule {spec.name!r} needs exactly one of every_seconds or crontab")
    _SPECS[spec.name] = spec


def registered_schedules() -> list[ScheduleSpec]:
    return [_SPECS[name] for name in sorted(_SPECS)]


@dataclass(frozen=True)
class SyncReport:
    created: list[str]
    updated: list[str]
    unchanged: list[str]


def schedules_sync(*, reset: bool = False) -> SyncReport:
    """Create the registered periodic tasks that are missing (and restore defaults with ``reset``)."""
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    with transaction.atomic():
        for spec in registered_schedules():
            defaults: dict[str, Any] = {
                "task": spec.task,
                "kwargs": json.dumps(spec.kwargs, sort_keys=True),
                "description": spec.description,
                "enabled": True,
            }
            if spec.every_seconds is not None:
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=spec.every_seconds, period=IntervalSchedule.SECONDS
                )
                defaults.update(interval=interval, crontab=None)
            else:
                cron = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
                cron.update(spec.crontab or {})
                crontab, _ = CrontabSchedule.objects.get_or_create(**cron, timezone="UTC")
                defaults.update(crontab=crontab, interval=None)
            existing = PeriodicTask.objects.filter(name=spec.name).first()
            if existing is None:
                PeriodicTask.objects.create(name=spec.name, **defaults)
                created.append(spec.name)
            elif reset:
                for key, value in defaults.items():
                    setattr(existing, key, value)
                existing.save()
                updated.append(spec.name)
            else:
                unchanged.append(spec.name)
    return SyncReport(created=created, updated=updated, unchanged=unchanged)


register_schedule(
    ScheduleSpec(
        name="core: sweep jobs",
        task="core.sweep_jobs",
        every_seconds=60,
        description="Re-send job rows stuck in queued and re-queue running rows whose worker died.",
    )
)
register_schedule(
    ScheduleSpec(
        name="core: purge expired API tokens",
        task="core.purge_expired_tokens",
        crontab={"minute": "17", "hour": "3"},
        description="Delete expired API tokens.",
    )
)
register_schedule(
    ScheduleSpec(
        name="core: nightly backup",
        task="core.backup_nightly",
        crontab={"minute": "41", "hour": "2"},
        description="Back up the database into BACKUP_DIR (a core.backup job) and keep the newest BACKUP_KEEP.",
    )
)

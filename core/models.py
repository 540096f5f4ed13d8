"""Users, coach ↔ athlete links and background-job rows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """A person using Stamina. ``role`` decides what they may see; ``is_staff`` opens the ops console."""

    class Role(models.TextChoices):
        ATHLETE = "athlete", "Athlete"
        COACH = "coach", "Coach"
        STAFF = "staff", "Staff"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ATHLETE, db_index=True)
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA zone name; calendar days are the athlete's local days."
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def is_staff_member(self) -> bool:
        return bool(self.is_staff or self.is_superuser or self.role == self.Role.STAFF)


class CoachAthlete(models.Model):
    """A coach may see and act for a linked athlete."""

    coach = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="athlete_links")
    athlete = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coach_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coach", "athlete"], name="uniq_coach_athlete"),
            models.CheckConstraint(condition=~Q(coach=models.F("athlete")), name="coach_is_not_athlete"),
        ]
        indexes = [models.Index(fields=["athlete", "coach"])]

    def __str__(self) -> str:
        return f"{self.coach_id} → {self.athlete_id}"


class Job(models.Model):
    """A unit of background work. The row exists before any message; the Celery message carries its id.

    State machine: queued → running → succeeded | failed (or cancelled). A sweeper re-sends rows stuck in
    queued and re-queues running rows whose heartbeat stopped (a killed worker), so a lost message delays
    work but never loses it.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sends = models.PositiveIntegerField(default=0, help_text="How many times a message was sent for this row.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "enqueued_at"], name="job_status_enqueued"),
            models.Index(fields=["kind", "-created_at"], name="job_kind_created"),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} {self.kind} ({self.status})"

    @property
    def progress_fraction(self) -> float | None:
        if not self.progress_total:
            return None
        return min(1.0, self.progress_done / self.progress_total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "kind": self.kind,
            "status": self.status,
            "params": self.params,
            "result": self.result,
            "error": self.error,
            "progress": {"done": self.progress_done, "total": self.progress_total},
            "attempts": self.attempts,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class MaintenanceChange(models.Model):
    """One switch of the read-only maintenance mode (append-only); the latest row is the current state.

    Read through ``core.maintenance.maintenance_state`` (cached a few seconds per process), written only by
    ``core.maintenance.maintenance_set``.
    """

    enabled = models.BooleanField(help_text="On: API writes and admin saves answer 503; reads keep working.")
    reason = models.CharField(max_length=500, help_text="Shown to clients in the 503 message.")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = "maintenance mode change"

    def __str__(self) -> str:
        return f"maintenance {'on' if self.enabled else 'off'} at {self.changed_at:%Y-%m-%d %H:%M} ({self.reason})"

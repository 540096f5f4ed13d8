"""Flags (django-waffle's model, extended), their audit history, staged rollouts, their transitions and the
incidents guards record (monitoring's own models are in ``rollout/monitoring/models.py``, app label ``monitoring``)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from waffle.models import AbstractUserFlag

logger = logging.getLogger(__name__)


class Flag(AbstractUserFlag):
    """The project's waffle flag (``WAFFLE_FLAG_MODEL``), evaluated by ``rollout.flags`` (see rollout.md).

    ``everyone``: True = on for all, False = killed, None = use the targeting below. ``percent`` is 0–100
    inclusive (waffle's own field stops at 99.9), compared with the Unleash-normalised bucket 1..100.
    ``pre_kill_everyone`` remembers ``everyone`` at the moment of a kill so that re-enabling restores it.
    """

    percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="0–100: users whose bucket (1..100) is ≤ percent get the flag. Empty: no percentage rule.",
    )
    superusers = models.BooleanField(default=False, help_text="On for superusers (the admin cohort).")
    active_from = models.DateTimeField(null=True, blank=True, help_text="Off before this moment.")
    active_until = models.DateTimeField(null=True, blank=True, help_text="Off from this moment on.")
    pre_kill_everyone = models.BooleanField(null=True, blank=True, editable=False)
    description = models.TextField(blank=True, default="")

    class Meta(AbstractUserFlag.Meta):
        verbose_name = "flag"
        verbose_name_plural = "flags"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__isnull=True) | models.Q(percent__lte=100), name="flag_percent_0_100"
            ),
            models.CheckConstraint(
                condition=models.Q(active_from__isnull=True)
                | models.Q(active_until__isnull=True)
                | models.Q(active_from__lt=models.F("active_until")),
                name="flag_window_ordered",
            ),
        ]

    def flush(self) -> None:
        """Waffle's cache flush, which must not fail a write when the cache is down."""
        try:
            super().flush()
        except Exception:
            logger.warning("could not flush waffle's cache for flag %s (cache down?)", self.name, exc_info=True)

    @property
    def killed(self) -> bool:
        return self.everyone is False


class FlagsVersion(models.Model):
    """A single row whose ``version`` increases with every flag or cohort change (snapshot invalidation)."""

    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"flags version {self.version}"


class FlagHistory(models.Model):
    """One row per flag change, whoever made it: admin, API, command, import or rollout."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "API"
        COMMAND = "command", "Command"
        IMPORT = "import", "Import"
        ROLLOUT = "rollout", "Rollout"
        GUARD = "guard", "Guard"
        REGISTRY = "registry", "Registry"

    flag_name = models.CharField(max_length=100, db_index=True)
    flag = models.ForeignKey(Flag, null=True, blank=True, on_delete=models.SET_NULL, related_name="history")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    reason = models.TextField(blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "flag history"

    def __str__(self) -> str:
        return f"{self.flag_name} by {self.actor_id or self.source} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def changed_fields(self) -> list[str]:
        before: dict[str, Any] = self.before or {}
        after: dict[str, Any] = self.after or {}
        return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


class Rollout(models.Model):
    """A flag walking an ordered plan of stages. ``plan`` is data: a list of ``{"name", "state"}``."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"

    class GuardPolicy(models.TextChoices):
        ROLLBACK = "rollback", "Roll back one stage"
        PAUSE = "pause", "Pause"

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="rollouts")
    plan = models.JSONField(help_text="Ordered stages: [{'name': ..., 'state': {...}}, ...]")
    current_index = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    guard_policy = models.CharField(max_length=16, choices=GuardPolicy.choices, default=GuardPolicy.ROLLBACK)
    guard_rules = models.ManyToManyField(
        "monitoring.AlertRule", blank=True, related_name="guarded_rollouts", help_text="Rules that guard this rollout."
    )
    guard_consecutive = models.PositiveSmallIntegerField(
        default=3, help_text="Critical evaluations in a row before the guard acts."
    )
    min_dwell_minutes = models.PositiveIntegerField(default=0, help_text="Minimum time at a stage before advancing.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    stage_entered_at = models.DateTimeField()
    last_gate_results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["flag"],
                condition=models.Q(status__in=["active", "paused"]),
                name="one_open_rollout_per_flag",
            )
        ]

    def __str__(self) -> str:
        return f"{self.flag.name}: {self.current_stage_name} ({self.status})"

    @property
    def stage_names(self) -> list[str]:
        return [stage["name"] for stage in self.plan]

    @property
    def current_stage_name(self) -> str:
        return str(self.plan[self.current_index]["name"])


class RolloutTransition(models.Model):
    """Every move of a rollout: who, when, from, to, why, which gates ran and what they said."""

    class Kind(models.TextChoices):
        START = "start", "Start"
        ADVANCE = "advance", "Advance"
        SET_PHASE = "set_phase", "Set phase"
        ROLLBACK = "rollback", "Rollback"
        KILL = "kill", "Kill (all off)"
        PAUSE = "pause", "Pause"
        RESUME = "resume", "Resume"

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="transitions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_stage = models.CharField(max_length=64, blank=True, default="")
    to_stage = models.CharField(max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, default="api")
    reason = models.TextField()
    gate_results = models.JSONField(default=list, blank=True)
    blocked = models.BooleanField(default=False, help_text="A gate failed; the flag did not change.")
    duration_ms = models.FloatField(default=0)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_stage} → {self.to_stage}"


class Incident(models.Model):
    """What a guard did to a rollout because of an alert."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="incidents")
    alert = models.ForeignKey("monitoring.Alert", on_delete=models.PROTECT, related_name="incidents")
    transition = models.ForeignKey(
        RolloutTransition, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    action = models.CharField(max_length=16)  # rollback | pause
    summary = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["rollout", "alert"], name="one_incident_per_rollout_alert")]

    def __str__(self) -> str:
        return f"{self.action} of rollout {self.rollout_id} for alert {self.alert_id}"

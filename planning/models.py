"""Planning tables. ``db_table`` names are the runbook's, so its SQL checks run verbatim (SQLite and PostgreSQL).

The movement tables hold no foreign key to users (the actor is a name): ``import_movements --dsn`` seeds a
database that has no users of this one.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from planning.engine import vocab


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ")) for value in values]


class Movement(models.Model):
    """One movement of the library: draft → published → archived (every change writes an audit row)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        PUBLISHED = "published", "published"
        ARCHIVED = "archived", "archived"

    movement_id = models.SlugField(max_length=120, unique=True, help_text="Stable slug; the import key.")
    name = models.CharField(max_length=200, unique=True)
    category = models.CharField(max_length=60, blank=True, default="")
    modalities = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    pattern = models.CharField(max_length=20, choices=_choices(vocab.PATTERNS), db_index=True)
    equipment = models.JSONField(default=list, blank=True, help_text="What it needs; [] or body_only = nothing.")
    level = models.CharField(max_length=14, choices=_choices(vocab.LEVELS), default="beginner")
    primary_muscles = models.JSONField(default=list, blank=True)
    secondary_muscles = models.JSONField(default=list, blank=True)
    contraindications = models.JSONField(default=list, blank=True)
    intensity_class = models.CharField(max_length=10, choices=_choices(vocab.INTENSITY_CLASSES), default="moderate")
    source = models.CharField(max_length=60, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "movement_library"
        ordering = ["name"]
        indexes = [models.Index(fields=["status", "pattern"], name="movement_status_pattern")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class MovementImportRun(models.Model):
    """One run of ``import_movements``: its options, outcome and report (errors, counts per pattern)."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        APPLIED = "applied", "applied"
        REJECTED = "rejected", "rejected"
        DRY_RUN = "dry_run", "dry run"

    source_file = models.CharField(max_length=500)
    format = models.CharField(max_length=20)
    publish = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    actor = models.CharField(max_length=150, blank=True, default="")
    records = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "movement_import_runs"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.source_file} ({self.status})"


class MovementStaging(models.Model):
    """A record of an import before it is validated and applied (cleared when its run finishes)."""

    import_run = models.ForeignKey(MovementImportRun, on_delete=models.CASCADE, related_name="staged")
    record_index = models.PositiveIntegerField()
    movement_id = models.CharField(max_length=200, blank=True, default="")
    payload = models.JSONField(default=dict)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "movement_staging"
        ordering = ["import_run", "record_index"]

    def __str__(self) -> str:
        return f"Staged #{self.record_index} of import {self.import_run_id}"


class MovementAuditLog(models.Model):
    """One row per imported / updated / published / archived action on a movement."""

    class Action(models.TextChoices):
        IMPORTED = "imported", "imported"
        UPDATED = "updated", "updated"
        PUBLISHED = "published", "published"
        ARCHIVED = "archived", "archived"

    movement = models.ForeignKey(Movement, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    movement_key = models.CharField(max_length=120, help_text="The movement_id, kept if the row is deleted.")
    action = models.CharField(max_length=10, choices=Action.choices, db_index=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    import_run = models.ForeignKey(
        MovementImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit"
    )
    diff = models.JSONField(default=dict, blank=True, help_text="field → [before, after]")
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "movement_audit_log"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.movement_key} {self.action}"


class PlanJob(models.Model):
    """A plan generation request and its result (``result_data = {"plan", "scoring"?}``); a core Job runs it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        COMPLETED = "completed", "completed"
        FAILED = "failed", "failed"

    job_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plan_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    core_job = models.OneToOneField(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="plan_job"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    request = models.JSONField(help_text="The validated request (camelCase, as posted).")
    result_data = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    score_total = models.FloatField(null=True, blank=True, help_text="Copy of result_data.scoring.total.")
    generation_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "plan_jobs"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="plan_job_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"Plan job {self.job_id} ({self.status})"

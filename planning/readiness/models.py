"""Readiness data: training sessions (the outcome), pre-session check-ins, baseline assessments, rules, the
population model per version, each athlete's stored posterior (``model_outputs``) and refit runs.

``model_outputs`` and ``baseline_assessments`` keep the seed's table names so its SQL runs verbatim::

    SELECT user_id, phase, sessions_included, last_trained_at FROM model_outputs LIMIT 10;
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import Job


def unlink_plan(collector: Any, field: Any, sub_objs: Any, using: str) -> None:
    """``on_delete`` of ``TrainingSession.plan_job``: like SET_NULL, and ``plan_day`` is cleared with it (the
    link is both or neither). ``sub_objs`` arrives evaluated (no ``lazy_sub_objs``), so both updates go by the
    sessions' primary keys and the first cannot hide the rows from the second."""
    collector.add_field_update(field, None, sub_objs)
    collector.add_field_update(field.model._meta.get_field("plan_day"), None, sub_objs)


class TrainingSession(models.Model):
    """One session: planned vs actual, the athlete's reported quality (1–10, the outcome) and RPE.

    ``x_*`` are the model's features, frozen when the session is completed (check-in items centred on the
    athlete's running mean before that check-in; form = TSB / 10 on the session day), so a refit is one
    aggregate query. ``plan_job``/``plan_day`` link the session to the plan session it carries out: a completed
    plan job of the same athlete and a day of that plan with a session (``planning.engine.days``: day 1 is the
    Monday of week 1). Both or neither (the services check it; a database CHECK could not hold while the
    delete collector clears the two columns in two UPDATEs); deleting the plan job clears both.
    """

    athlete = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    sport = models.CharField(max_length=32, default="general")
    session_type = models.CharField(max_length=32, blank=True)
    planned_duration_min = models.FloatField(null=True, blank=True)
    actual_duration_min = models.FloatField(null=True, blank=True)
    planned_intensity = models.FloatField(null=True, blank=True, help_text="1–10")
    actual_intensity = models.FloatField(null=True, blank=True, help_text="1–10")
    planned_volume = models.FloatField(null=True, blank=True, help_text="sport units (km, problems, sets…)")
    actual_volume = models.FloatField(null=True, blank=True)
    deviated_from_plan = models.BooleanField(default=False)
    session_quality = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–10, the outcome")
    session_rpe = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–10")
    notes = models.TextField(blank=True)
    completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    activity = models.ForeignKey(
        "training.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plan_job = models.ForeignKey(
        "planning.PlanJob",
        null=True,
        blank=True,
        on_delete=unlink_plan,
        related_name="sessions",
        help_text="the completed plan job of this athlete whose session this is",
    )
    plan_day = models.PositiveIntegerField(
        null=True, blank=True, help_text="day of that plan with a session (1 = Monday of week 1)"
    )
    checkin = models.OneToOneField(
        "readiness.CheckIn", null=True, blank=True, on_delete=models.SET_NULL, related_name="session"
    )
    x_sleep = models.FloatField(default=0.0)
    x_energy = models.FloatField(default=0.0)
    x_stress = models.FloatField(default=0.0)
    x_soreness = models.FloatField(default=0.0)
    x_form = models.FloatField(default=0.0)
    in_model = models.BooleanField(default=False, help_text="completed with a quality: counted by the model")
    predicted_quality = models.FloatField(null=True, blank=True)
    prediction_source = models.CharField(max_length=24, blank=True)
    model_stats_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "training_sessions"
        ordering = ["-date", "-id"]
        indexes = [
            models.Index(fields=["athlete", "date"], name="tsession_athlete_date"),
            models.Index(fields=["completed_at"], name="tsession_completed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.sport} session of {self.athlete_id} on {self.date}"


class CheckIn(models.Model):
    """A pre-session check-in: the seed's sleep/energy/stress, plus soreness, motivation and pain."""

    athlete = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    sleep_hours = models.FloatField(help_text="0–24")
    energy_level = models.PositiveSmallIntegerField(help_text="1–5")
    stress_level = models.PositiveSmallIntegerField(help_text="1–5")
    soreness = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–5")
    motivation = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–5")
    pain_reported = models.BooleanField(default=False)
    pain_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "readiness_checkins"
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["athlete", "date"], name="checkin_athlete_date")]

    def __str__(self) -> str:
        return f"check-in of {self.athlete_id} on {self.date}"


class BaselineAssessment(models.Model):
    """The athlete's profile: experience, goals, injuries and a typical week (one per athlete)."""

    class Experience(models.TextChoices):
        BEGINNER = "beginner", "Beginner"
        INTERMEDIATE = "intermediate", "Intermediate"
        ADVANCED = "advanced", "Advanced"
        ELITE = "elite", "Elite"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    primary_sport = models.CharField(max_length=32, default="general")
    experience_level = models.CharField(max_length=16, choices=Experience.choices, default=Experience.INTERMEDIATE)
    experience_years = models.FloatField(default=0)
    goals = models.JSONField(default=list, blank=True)
    injuries = models.JSONField(default=list, blank=True)
    typical_week = models.JSONField(default=dict, blank=True, help_text='e.g. {"sessions": 4, "hours": 6}')
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "baseline_assessments"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"baseline of {self.user_id}"


class Rule(models.Model):
    """A condition on the check-in or recent load, an action, a priority and whether it overrides the model."""

    class Field(models.TextChoices):
        PAIN_REPORTED = "pain_reported", "pain reported"
        SLEEP_HOURS = "sleep_hours", "sleep hours"
        ENERGY_LEVEL = "energy_level", "energy (1–5)"
        STRESS_LEVEL = "stress_level", "stress (1–5)"
        SORENESS = "soreness", "soreness (1–5)"
        MOTIVATION = "motivation", "motivation (1–5)"
        ACWR = "acwr", "ACWR (acute:chronic load)"
        TSB = "tsb", "form (TSB)"

    class Operator(models.TextChoices):
        LT = "lt", "<"
        LTE = "lte", "≤"
        GT = "gt", ">"
        GTE = "gte", "≥"
        IS_TRUE = "is_true", "is true"

    class Action(models.TextChoices):
        REST = "rest", "rest day"
        TECHNIQUE_ONLY = "technique_only", "technique only"
        ACTIVE_RECOVERY = "active_recovery", "active recovery"
        REDUCE_VOLUME = "reduce_volume", "reduce volume"
        REDUCE_INTENSITY = "reduce_intensity", "reduce intensity"
        SEE_PROFESSIONAL = "see_professional", "see a professional"

    name = models.CharField(max_length=100, unique=True)
    field = models.CharField(max_length=24, choices=Field.choices)
    operator = models.CharField(max_length=8, choices=Operator.choices)
    threshold = models.FloatField(default=0)
    action = models.CharField(max_length=24, choices=Action.choices)
    message = models.CharField(max_length=300)
    priority = models.PositiveIntegerField(default=50, help_text="higher wins")
    overrides_model = models.BooleanField(default=False)
    adjust_volume_pct = models.FloatField(default=0, help_text="e.g. -20 for 20 % less volume")
    adjust_intensity_pct = models.FloatField(default=0)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "readiness_rules"
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name


class PopulationModel(models.Model):
    """The population parameters ``μ, Σ, σ²`` of one model version; exactly one is active (serving)."""

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        FITTED = "fitted", "Fitted by EM"
        LITERATURE = "literature", "Literature priors"

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILDING)
    source = models.CharField(max_length=16, choices=Source.choices)
    features = models.JSONField(default=list)
    mu = models.JSONField(default=list)
    sigma = models.JSONField(default=list, help_text="Σ, p×p")
    sigma2 = models.FloatField()
    loglik = models.FloatField(null=True, blank=True)
    iterations = models.PositiveIntegerField(default=0)
    converged = models.BooleanField(default=True)
    athletes = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0)
    stats_cutoff = models.DateTimeField(help_text="sessions completed up to here are in the fit")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "readiness_population_models"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="readiness_one_active"),
        ]

    def __str__(self) -> str:
        return f"readiness model v{self.version} ({self.status})"


class ModelOutput(models.Model):
    """One athlete's posterior under one model version, with the statistics it came from."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    model_version = models.PositiveIntegerField()
    phase = models.CharField(max_length=16)
    coefficients = models.JSONField(default=dict, help_text="feature → β̂")
    posterior_cov = models.JSONField(default=list)
    xtx = models.JSONField(default=list)
    xty = models.JSONField(default=list)
    yty = models.FloatField(default=0)
    sessions_included = models.PositiveIntegerField(default=0)
    last_trained_at = models.DateTimeField()

    class Meta:
        db_table = "model_outputs"
        constraints = [
            models.UniqueConstraint(fields=["user", "model_version"], name="model_output_user_version"),
        ]
        indexes = [models.Index(fields=["model_version", "user"], name="model_output_version_user")]

    def __str__(self) -> str:
        return f"model of {self.user_id} v{self.model_version} ({self.phase})"


class RefitRun(models.Model):
    """A refit (all athletes → a new version, or one athlete under the active version); one runs at a time."""

    class Scope(models.TextChoices):
        ALL = "all", "All athletes"
        ATHLETE = "athlete", "One athlete"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    scope = models.CharField(max_length=16, choices=Scope.choices)
    athlete = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    job = models.OneToOneField(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    current = models.BooleanField(default=True, help_text="holds the one-at-a-time slot")
    trigger = models.CharField(max_length=16, default="manual")
    reason = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(null=True, blank=True)
    athletes_done = models.PositiveIntegerField(default=0)
    athletes_total = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "readiness_refit_runs"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["current"], condition=Q(current=True), name="readiness_one_refit"),
        ]

    def __str__(self) -> str:
        return f"refit {self.pk} ({self.scope}, {self.status})"

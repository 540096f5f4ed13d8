"""Experiments (a flag with variants), their metrics, exposures, analysis results, and deployment backups."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Experiment(models.Model):
    """An A/B test of calculation methods. The ``flag`` decides who is in it (its targeting: cohorts, percent,
    window); among them each user gets a variant by Unleash's variant hash on ``key``."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    key = models.SlugField(max_length=100, unique=True, help_text="Stable id (the seed's test id); hashed.")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    hypothesis = models.TextField(blank=True, default="")
    test_type = models.CharField(max_length=64, blank=True, default="", help_text="e.g. trimp_method")
    flag = models.ForeignKey("rollout.Flag", on_delete=models.PROTECT, related_name="experiments")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    min_days = models.PositiveSmallIntegerField(default=7, help_text="Seed success criterion: ≥ 7 days.")
    min_users_per_variant = models.PositiveIntegerField(default=1000, help_text="Seed: ≥ 1,000 users per variant.")
    sequential = models.BooleanField(
        default=True, help_text="Decide on always-valid (sequential) intervals, safe to look at every day."
    )
    sequential_tuning = models.PositiveIntegerField(
        default=5000,
        help_text="Total users at which the sequential interval is narrowest (GrowthBook's default, 5,000); "
        "set it to the planned sample before starting.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class Variant(models.Model):
    """One arm: ``traffic_percentage`` of the experiment's users (weights sum to 100), its configuration JSON.
    The first variant by ``position`` is the control."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.SlugField(max_length=64)
    description = models.TextField(blank=True, default="")
    traffic_percentage = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(100)])
    configuration = models.JSONField(default=dict, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [models.UniqueConstraint(fields=["experiment", "name"], name="variant_unique_name")]

    def __str__(self) -> str:
        return f"{self.experiment.key}:{self.name}"


class ExperimentMetric(models.Model):
    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary"
        SECONDARY = "secondary", "Secondary"
        GUARDRAIL = "guardrail", "Guardrail"

    class Kind(models.TextChoices):
        MEAN = "mean", "Mean"
        PROPORTION = "proportion", "Proportion"

    class Direction(models.TextChoices):
        INCREASE = "increase", "Higher is better"
        DECREASE = "decrease", "Lower is better"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="metrics")
    source = models.CharField(max_length=100, help_text="A registered metric source (rollout.experiments.registry).")
    role = models.CharField(max_length=16, choices=Role.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    mde = models.FloatField(default=0.05, help_text="Minimum detectable effect, relative (0.05 = 5 %).")
    alpha = models.FloatField(default=0.05)
    power = models.FloatField(default=0.8)

    class Meta:
        ordering = ["experiment", "role", "source"]
        constraints = [models.UniqueConstraint(fields=["experiment", "source"], name="metric_unique_source")]

    def __str__(self) -> str:
        return f"{self.experiment.key}:{self.source} ({self.role})"


class Exposure(models.Model):
    """The first time a user saw a variant. One row per (experiment, user): a repeat insert is ignored."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    # A plain id, not a foreign key: logging stays one cheap insert and history survives a deleted user.
    user_id = models.BigIntegerField()
    variant = models.CharField(max_length=64)
    exposed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "user_id"], name="exposure_once_per_user")]
        indexes = [models.Index(fields=["experiment", "exposed_at"], name="exposure_by_time")]

    def __str__(self) -> str:
        return f"user {self.user_id} saw {self.variant}"


class MetricRollup(models.Model):
    """The analysis's running state for one metric of one experiment (incremental refresh).

    ``sums`` (variant → [n users, Σ per-user mean, Σ per-user mean²]) covers the source's events with a time
    before ``folded_until``; the next analysis folds only the users with events after it.
    ``rebuilt_at`` is the last full rebuild (from every event)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="rollups")
    source = models.CharField(max_length=100)
    folded_until = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    sums = models.JSONField(default=dict, help_text="variant → [n, Σx, Σx²] of per-user means")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "experiment_metric_rollup"
        constraints = [models.UniqueConstraint(fields=["experiment", "source"], name="rollup_once_per_metric")]

    def __str__(self) -> str:
        return f"{self.experiment_id}/{self.source} folded until {self.folded_until}"


class ExperimentResult(models.Model):
    """One analysis: per metric and variant the full statistics (``data``) and one verdict with its reason."""

    class Verdict(models.TextChoices):
        SHIP = "ship", "Ship"
        DO_NOT_SHIP = "do_not_ship", "Do not ship"
        KEEP_RUNNING = "keep_running", "Keep running"
        INVALID = "invalid", "Invalid"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="results")
    job = models.OneToOneField("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    computed_at = models.DateTimeField(db_index=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason = models.TextField()
    srm_p_value = models.FloatField(null=True, blank=True)
    exposures = models.JSONField(default=dict, help_text="variant → exposed users")
    data = models.JSONField(default=dict)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["-computed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.experiment.key}: {self.verdict} at {self.computed_at:%Y-%m-%d %H:%M}"


class ShadowRun(models.Model):
    """One run of a registered shadow comparison (rollout.shadow): its summary and the items that differ most."""

    name = models.CharField(max_length=100, db_index=True)
    computed_at = models.DateTimeField()
    items = models.PositiveIntegerField(default=0)
    compared = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict)
    job = models.OneToOneField("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-computed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} at {self.computed_at:%Y-%m-%d %H:%M}"


class Deployment(models.Model):
    """One run of ``manage.py deploy`` that changed something (or a rollback): the backup of the state before
    it (flags, experiments, alert rules, feedback categories) and what changed."""

    class Action(models.TextChoices):
        DEPLOY = "deploy", "Deploy"
        ROLLBACK = "rollback", "Rollback"

    action = models.CharField(max_length=16, choices=Action.choices)
    sections = models.JSONField(default=list, help_text="feature_flags, ab_testing, performance_monitoring, ...")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    backup = models.JSONField(help_text="The exported state before this deployment.")
    changes = models.JSONField(default=list)
    files_digest = models.CharField(max_length=64, blank=True, default="")
    rolled_back = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {','.join(self.sections)} at {self.created_at:%Y-%m-%d %H:%M}"

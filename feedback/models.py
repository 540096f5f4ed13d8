"""Feedback, its status history, routing to teams, and accuracy validations against external numbers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class FeedbackType(models.TextChoices):
    BUG_REPORT = "bug_report", "Bug report"
    FEATURE_REQUEST = "feature_request", "Feature request"
    PERFORMANCE_ISSUE = "performance_issue", "Performance issue"
    USABILITY_ISSUE = "usability_issue", "Usability issue"
    GENERAL_FEEDBACK = "general_feedback", "General feedback"
    SATISFACTION_SURVEY = "satisfaction_survey", "Satisfaction survey"


class Category(models.TextChoices):
    ACCURACY = "accuracy", "Accuracy"
    PERFORMANCE = "performance", "Performance"
    USABILITY = "usability", "Usability"
    RELIABILITY = "reliability", "Reliability"
    DOCUMENTATION = "documentation", "Documentation"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class Status(models.TextChoices):
    NEW = "new", "New"
    TRIAGED = "triaged", "Triaged"
    IN_PROGRESS = "in_progress", "In progress"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="feedback_teams")

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Feedback of a category goes to a team and, optionally, a default assignee (set by ops in the admin)."""

    category = models.CharField(max_length=16, choices=Category.choices, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="routes")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.category} → {self.team}"


class Feedback(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback")
    type = models.CharField(max_length=24, choices=FeedbackType.choices)
    category = models.CharField(max_length=16, choices=Category.choices, blank=True)
    category_source = models.CharField(max_length=8, default="user")  # user | auto | override
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    message = models.TextField()
    message_hash = models.CharField(max_length=64)
    context = models.JSONField(default=dict, blank=True, help_text="flags, variants, app_version, activity, plan")
    activity = models.ForeignKey(
        "training.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_feedback"
    )
    # triage (automatic, unless overridden: the override is kept in `overrides` and wins on re-triage)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True, help_text="VADER compound score, -1..1")
    priority = models.CharField(max_length=8, choices=Priority.choices, blank=True)
    priority_rule = models.CharField(max_length=64, blank=True)
    category_rule = models.CharField(max_length=64, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    topic = models.CharField(max_length=64, blank=True, db_index=True)
    acknowledgement = models.TextField(blank=True)
    overrides = models.JSONField(default=dict, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    duplicate_count = models.PositiveIntegerField(default=0)
    week = models.DateField(help_text="Monday of the week it was submitted (for weekly trends).")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    ack_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_5"
            )
        ]
        indexes = [
            models.Index(fields=["user", "message_hash", "created_at"], name="feedback_duplicate"),
            models.Index(fields=["created_at"], name="feedback_created"),
            models.Index(fields=["status", "priority"], name="feedback_status_priority"),
            models.Index(fields=["ack_due_at"], condition=Q(acknowledged_at__isnull=True), name="feedback_ack_open"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} ({self.status})"


class FeedbackChange(models.Model):
    """History of status, assignment and triage overrides."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=32)
    before = models.CharField(max_length=200, blank=True)
    after = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"#{self.feedback_id} {self.field}: {self.before} → {self.after}"


class ExternalSource(models.TextChoices):
    GARMIN = "garmin", "Garmin"
    STRAVA = "strava", "Strava"
    POLAR = "polar", "Polar"
    TRAININGPEAKS = "trainingpeaks", "TrainingPeaks"
    OTHER = "other", "Other"


class AccuracyValidation(models.Model):
    """How far our TRIMP for an activity is from an external number the athlete reports."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accuracy_validations")
    activity = models.ForeignKey("training.Activity", on_delete=models.CASCADE, related_name="accuracy_validations")
    source = models.CharField(max_length=16, choices=ExternalSource.choices)
    external_value = models.FloatField()
    our_value = models.FloatField()
    our_method = models.CharField(max_length=16)
    relative_difference = models.FloatField(help_text="(ours − external) / external")
    within_5pct = models.BooleanField()
    note = models.CharField(max_length=500, blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="flags and variants the user had at the time")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["our_method", "source", "created_at"], name="accuracy_method_source")]

    def __str__(self) -> str:
        return f"{self.activity_id} vs {self.source}: {self.relative_difference:+.1%}"


class DailyCount(models.Model):
    """Per-day counts of feedback by one dimension at a time, kept by the services (``feedback.rollup``), so the
    summary reads a few thousand rows instead of scanning every item. Dimensions: ``all`` (value ""), type,
    category, status, priority, sentiment, ``topic`` (problem reports and negative items only) and ``sla``
    (value "late": acknowledged after the target)."""

    day = models.DateField()
    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=64, blank=True)
    count = models.IntegerField(default=0)
    rating_n = models.IntegerField(default=0)
    rating_sum = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "dimension", "value"], name="feedback_daily_key")]
        indexes = [models.Index(fields=["dimension", "day"], name="feedback_daily_dim")]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.value}: {self.count}"

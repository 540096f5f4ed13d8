"""Monitoring storage: per-minute metric aggregates, threshold rules, alerts, notifications.

The app label is ``monitoring``; the tables keep the names they had under the ``rollout`` label (the models
moved with ``SeparateDatabaseAndState``, no data moved), hence the explicit ``db_table``. Monitoring knows
nothing of rollouts: guards (``rollout/guards.py``) and their incidents live with the rollouts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class MetricMinute(models.Model):
    """One metric with one tag set over one minute: count, sum, sum of squares, min, max and a histogram."""

    metric = models.CharField(max_length=100)
    tags_key = models.CharField(max_length=255, help_text="Canonical 'k=v,k2=v2' of the tags.")
    tags = models.JSONField(default=dict)
    minute = models.DateTimeField()
    count = models.BigIntegerField(default=0)
    sum = models.FloatField(default=0.0)
    sum_sq = models.FloatField(default=0.0)
    min = models.FloatField()
    max = models.FloatField()
    buckets = models.JSONField(default=dict, help_text="histogram bucket index → count (rollout.histogram)")

    class Meta:
        db_table = "rollout_metricminute"
        constraints = [models.UniqueConstraint(fields=["metric", "tags_key", "minute"], name="metric_minute_key")]
        indexes = [models.Index(fields=["metric", "minute"], name="metric_minute_time")]

    def __str__(self) -> str:
        return f"{self.metric}{{{self.tags_key}}} @ {self.minute:%Y-%m-%d %H:%M}"


class NotificationChannel(models.Model):
    class Kind(models.TextChoices):
        LOG = "log", "Log"
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(
        max_length=1000, blank=True, help_text="E-mail addresses (comma-separated) or the webhook URL."
    )
    timeout_seconds = models.FloatField(default=5.0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    enabled = models.BooleanField(default=True)

    class Meta:
        db_table = "rollout_notificationchannel"

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class AlertRule(models.Model):
    """A threshold on an aggregate of a metric over a window, evaluated every ``interval_seconds``."""

    class Aggregation(models.TextChoices):
        COUNT = "count", "count of samples"
        SUM = "sum", "sum"
        RATE = "rate", "sum per minute"
        MEAN = "mean", "mean"
        MIN = "min", "min"
        MAX = "max", "max"
        P50 = "p50", "p50"
        P95 = "p95", "p95"
        P99 = "p99", "p99"
        RATIO = "ratio", "ratio of two sums"

    class Operator(models.TextChoices):
        GT = "gt", ">"
        GTE = "gte", "≥"
        LT = "lt", "<"
        LTE = "lte", "≤"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True, default="")
    metric = models.CharField(max_length=100)
    tags = models.JSONField(default=dict, blank=True, help_text="Only samples whose tags include these.")
    denominator_metric = models.CharField(max_length=100, blank=True, default="", help_text="For ratio.")
    denominator_tags = models.JSONField(default=dict, blank=True)
    group_by = models.JSONField(default=list, blank=True, help_text="Tag keys: one alert per value combination.")
    aggregation = models.CharField(max_length=8, choices=Aggregation.choices)
    operator = models.CharField(max_length=4, choices=Operator.choices)
    warning = models.FloatField(null=True, blank=True)
    error = models.FloatField(null=True, blank=True)
    critical = models.FloatField(null=True, blank=True)
    window_minutes = models.PositiveIntegerField(default=5)
    interval_seconds = models.PositiveIntegerField(default=60)
    min_samples = models.PositiveIntegerField(default=1, help_text="Fewer samples in the window: no verdict.")
    recovery_minutes = models.PositiveIntegerField(default=5, help_text="OK for this long resolves the alert.")
    channels = models.ManyToManyField(NotificationChannel, blank=True, db_table="rollout_alertrule_channels")
    enabled = models.BooleanField(default=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "rollout_alertrule"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RuleState(models.Model):
    """The latest verdict of a rule for one tag set (kept even when no alert is open)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="states")
    tags_key = models.CharField(max_length=255, blank=True, default="")
    tags = models.JSONField(default=dict)
    state = models.CharField(max_length=16, default="no_data")  # ok, warning, error, critical, no_data
    value = models.FloatField(null=True, blank=True)
    samples = models.BigIntegerField(default=0)
    consecutive_critical = models.PositiveIntegerField(default=0)
    ok_since = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "rollout_rulestate"
        constraints = [models.UniqueConstraint(fields=["rule", "tags_key"], name="rule_state_key")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.tags_key}: {self.state}"


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    SEVERITIES = ("warning", "error", "critical")

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    tags_key = models.CharField(max_length=255, blank=True, default="")
    tags = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    severity = models.CharField(max_length=16)
    peak_severity = models.CharField(max_length=16)
    value = models.FloatField()
    threshold = models.FloatField()
    opened_at = models.DateTimeField()
    last_breach_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evaluations = models.PositiveIntegerField(default=1, help_text="Breaching evaluations while open.")

    class Meta:
        db_table = "rollout_alert"
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "tags_key"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="one_unresolved_alert_per_rule_tags",
            )
        ]
        indexes = [models.Index(fields=["status", "-opened_at"], name="alert_status_opened")]

    def __str__(self) -> str:
        return f"{self.rule.name} [{self.tags_key}] {self.severity} ({self.status})"


class AlertEvent(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        SEVERITY = "severity", "Severity changed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_severity = models.CharField(max_length=16, blank=True, default="")
    to_severity = models.CharField(max_length=16, blank=True, default="")
    value = models.FloatField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "rollout_alertevent"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind}"


class Notification(models.Model):
    """One message to one channel: the row exists first; a task delivers it; the sweeper retries."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="notifications")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=300)
    body = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "rollout_notification"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.channel.name}: {self.subject} ({self.status})"


class EvaluationLease(models.Model):
    """A single row held by the evaluator that is running, so that only one run happens at a time."""

    name = models.CharField(max_length=64, primary_key=True)
    held_until = models.DateTimeField()
    holder = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        db_table = "rollout_evaluationlease"

    def __str__(self) -> str:
        return f"{self.name} until {self.held_until}"

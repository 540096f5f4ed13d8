"""The monitoring models move here from the ``rollout`` app label: state only, the tables (created by
rollout 0004 and keeping their names) and their rows stay where they are."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("rollout", "0004_monitoring"),  # the tables exist from here on
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="AlertRule",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=120, unique=True)),
                        ("description", models.TextField(blank=True, default="")),
                        ("metric", models.CharField(max_length=100)),
                        (
                            "tags",
                            models.JSONField(
                                blank=True, default=dict, help_text="Only samples whose tags include these."
                            ),
                        ),
                        (
                            "denominator_metric",
                            models.CharField(blank=True, default="", help_text="For ratio.", max_length=100),
                        ),
                        ("denominator_tags", models.JSONField(blank=True, default=dict)),
                        (
                            "group_by",
                            models.JSONField(
                                blank=True, default=list, help_text="Tag keys: one alert per value combination."
                            ),
                        ),
                        (
                            "aggregation",
                            models.CharField(
                                choices=[
                                    ("count", "count of samples"),
                                    ("sum", "sum"),
                                    ("rate", "sum per minute"),
                                    ("mean", "mean"),
                                    ("min", "min"),
                                    ("max", "max"),
                                    ("p50", "p50"),
                                    ("p95", "p95"),
                                    ("p99", "p99"),
                                    ("ratio", "ratio of two sums"),
                                ],
                                max_length=8,
                            ),
                        ),
                        (
                            "operator",
                            models.CharField(
                                choices=[("gt", ">"), ("gte", "≥"), ("lt", "<"), ("lte", "≤")], max_length=4
                            ),
                        ),
                        ("warning", models.FloatField(blank=True, null=True)),
                        ("error", models.FloatField(blank=True, null=True)),
                        ("critical", models.FloatField(blank=True, null=True)),
                        ("window_minutes", models.PositiveIntegerField(default=5)),
                        ("interval_seconds", models.PositiveIntegerField(default=60)),
                        (
                            "min_samples",
                            models.PositiveIntegerField(
                                default=1, help_text="Fewer samples in the window: no verdict."
                            ),
                        ),
                        (
                            "recovery_minutes",
                            models.PositiveIntegerField(default=5, help_text="OK for this long resolves the alert."),
                        ),
                        ("enabled", models.BooleanField(default=True)),
                        ("last_evaluated_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "rollout_alertrule",
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="EvaluationLease",
                    fields=[
                        ("name", models.CharField(max_length=64, primary_key=True, serialize=False)),
                        ("held_until", models.DateTimeField()),
                        ("holder", models.CharField(blank=True, default="", max_length=100)),
                    ],
                    options={
                        "db_table": "rollout_evaluationlease",
                    },
                ),
                migrations.CreateModel(
                    name="NotificationChannel",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100, unique=True)),
                        (
                            "kind",
                            models.CharField(
                                choices=[("log", "Log"), ("email", "E-mail"), ("webhook", "Webhook")], max_length=16
                            ),
                        ),
                        (
                            "target",
                            models.CharField(
                                blank=True,
                                help_text="E-mail addresses (comma-separated) or the webhook URL.",
                                max_length=1000,
                            ),
                        ),
                        ("timeout_seconds", models.FloatField(default=5.0)),
                        ("max_attempts", models.PositiveSmallIntegerField(default=5)),
                        ("enabled", models.BooleanField(default=True)),
                    ],
                    options={
                        "db_table": "rollout_notificationchannel",
                    },
                ),
                migrations.CreateModel(
                    name="Alert",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("tags_key", models.CharField(blank=True, default="", max_length=255)),
                        ("tags", models.JSONField(default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved")],
                                default="open",
                                max_length=16,
                            ),
                        ),
                        ("severity", models.CharField(max_length=16)),
                        ("peak_severity", models.CharField(max_length=16)),
                        ("value", models.FloatField()),
                        ("threshold", models.FloatField()),
                        ("opened_at", models.DateTimeField()),
                        ("last_breach_at", models.DateTimeField()),
                        ("acknowledged_at", models.DateTimeField(blank=True, null=True)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "evaluations",
                            models.PositiveIntegerField(default=1, help_text="Breaching evaluations while open."),
                        ),
                        (
                            "acknowledged_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "resolved_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "rule",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="alerts",
                                to="monitoring.alertrule",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "rollout_alert",
                        "ordering": ["-opened_at"],
                    },
                ),
                migrations.CreateModel(
                    name="AlertEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("opened", "Opened"),
                                    ("severity", "Severity changed"),
                                    ("acknowledged", "Acknowledged"),
                                    ("resolved", "Resolved"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("from_severity", models.CharField(blank=True, default="", max_length=16)),
                        ("to_severity", models.CharField(blank=True, default="", max_length=16)),
                        ("value", models.FloatField(blank=True, null=True)),
                        ("note", models.TextField(blank=True, default="")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "alert",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="events",
                                to="monitoring.alert",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "rollout_alertevent",
                        "ordering": ["created_at", "id"],
                    },
                ),
                migrations.CreateModel(
                    name="MetricMinute",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("metric", models.CharField(max_length=100)),
                        ("tags_key", models.CharField(help_text="Canonical 'k=v,k2=v2' of the tags.", max_length=255)),
                        ("tags", models.JSONField(default=dict)),
                        ("minute", models.DateTimeField()),
                        ("count", models.BigIntegerField(default=0)),
                        ("sum", models.FloatField(default=0.0)),
                        ("sum_sq", models.FloatField(default=0.0)),
                        ("min", models.FloatField()),
                        ("max", models.FloatField()),
                        (
                            "buckets",
                            models.JSONField(
                                default=dict, help_text="histogram bucket index → count (rollout.histogram)"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "rollout_metricminute",
                        "indexes": [models.Index(fields=["metric", "minute"], name="metric_minute_time")],
                        "constraints": [
                            models.UniqueConstraint(fields=("metric", "tags_key", "minute"), name="metric_minute_key")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("subject", models.CharField(max_length=300)),
                        ("body", models.JSONField(default=dict)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("sending", "Sending"),
                                    ("sent", "Sent"),
                                    ("failed", "Failed"),
                                ],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True, default="")),
                        ("next_attempt_at", models.DateTimeField()),
                        ("claimed_at", models.DateTimeField(blank=True, null=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "alert",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="monitoring.alert",
                            ),
                        ),
                        (
                            "channel",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to="monitoring.notificationchannel",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "rollout_notification",
                    },
                ),
                migrations.AddField(
                    model_name="alertrule",
                    name="channels",
                    field=models.ManyToManyField(
                        blank=True, db_table="rollout_alertrule_channels", to="monitoring.notificationchannel"
                    ),
                ),
                migrations.CreateModel(
                    name="RuleState",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("tags_key", models.CharField(blank=True, default="", max_length=255)),
                        ("tags", models.JSONField(default=dict)),
                        ("state", models.CharField(default="no_data", max_length=16)),
                        ("value", models.FloatField(blank=True, null=True)),
                        ("samples", models.BigIntegerField(default=0)),
                        ("consecutive_critical", models.PositiveIntegerField(default=0)),
                        ("ok_since", models.DateTimeField(blank=True, null=True)),
                        ("evaluated_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "rule",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="states",
                                to="monitoring.alertrule",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "rollout_rulestate",
                    },
                ),
                migrations.AddIndex(
                    model_name="alert",
                    index=models.Index(fields=["status", "-opened_at"], name="alert_status_opened"),
                ),
                migrations.AddConstraint(
                    model_name="alert",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status__in", ["open", "acknowledged"])),
                        fields=("rule", "tags_key"),
                        name="one_unresolved_alert_per_rule_tags",
                    ),
                ),
                migrations.AddIndex(
                    model_name="notification",
                    index=models.Index(fields=["status", "next_attempt_at"], name="notification_due"),
                ),
                migrations.AddConstraint(
                    model_name="rulestate",
                    constraint=models.UniqueConstraint(fields=("rule", "tags_key"), name="rule_state_key"),
                ),
            ],
        ),
    ]

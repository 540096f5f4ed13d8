"""The monitoring models now belong to the ``monitoring`` app label (rollout/monitoring): state only, no table
is dropped or renamed and no row moves. Their content types follow them, so permissions and admin log
entries stay attached."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = [
    "alert",
    "alertevent",
    "alertrule",
    "evaluationlease",
    "metricminute",
    "notification",
    "notificationchannel",
    "rulestate",
]


def _move_content_types(apps, schema_editor, source="rollout", target="monitoring"):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not content_type.objects.filter(app_label=target, model=model).exists():
            content_type.objects.filter(app_label=source, model=model).update(app_label=target)


def _move_content_types_back(apps, schema_editor):
    _move_content_types(apps, schema_editor, source="monitoring", target="rollout")


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("rollout", "0004_monitoring"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name="alert",
                    name="acknowledged_by",
                ),
                migrations.RemoveField(
                    model_name="alert",
                    name="resolved_by",
                ),
                migrations.RemoveField(
                    model_name="alert",
                    name="rule",
                ),
                migrations.RemoveField(
                    model_name="notification",
                    name="alert",
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="alert",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="incidents", to="monitoring.alert"
                    ),
                ),
                migrations.RemoveField(
                    model_name="alertevent",
                    name="alert",
                ),
                migrations.RemoveField(
                    model_name="alertevent",
                    name="actor",
                ),
                migrations.RemoveField(
                    model_name="alertrule",
                    name="channels",
                ),
                migrations.RemoveField(
                    model_name="rulestate",
                    name="rule",
                ),
                migrations.DeleteModel(
                    name="EvaluationLease",
                ),
                migrations.DeleteModel(
                    name="MetricMinute",
                ),
                migrations.RemoveField(
                    model_name="notification",
                    name="channel",
                ),
                migrations.AlterField(
                    model_name="rollout",
                    name="guard_rules",
                    field=models.ManyToManyField(
                        blank=True,
                        help_text="Rules that guard this rollout.",
                        related_name="guarded_rollouts",
                        to="monitoring.alertrule",
                    ),
                ),
                migrations.DeleteModel(
                    name="Alert",
                ),
                migrations.DeleteModel(
                    name="AlertEvent",
                ),
                migrations.DeleteModel(
                    name="AlertRule",
                ),
                migrations.DeleteModel(
                    name="RuleState",
                ),
                migrations.DeleteModel(
                    name="Notification",
                ),
                migrations.DeleteModel(
                    name="NotificationChannel",
                ),
            ],
        ),
        migrations.RunPython(_move_content_types, _move_content_types_back),
    ]

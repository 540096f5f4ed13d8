"""Training sessions link to their plan session: ``plan_job`` becomes a foreign key to ``planning.PlanJob``.

The old ``plan_job_id`` was a plain integer while plan jobs are keyed by UUID, so no stored value can refer to a
plan: the integer column is dropped with its values, and every ``plan_day`` is cleared with it (a day without its
plan names nothing). The new column keeps the name ``plan_job_id`` (a nullable UUID with a foreign key and an
index). Sessions are otherwise untouched. Works the same on SQLite and PostgreSQL; the reverse brings back the
integer column, empty.
"""

from django.db import migrations, models

import planning.readiness.models


def clear_plan_days(apps, schema_editor):
    TrainingSession = apps.get_model("readiness", "TrainingSession")
    TrainingSession.objects.using(schema_editor.connection.alias).filter(plan_day__isnull=False).update(plan_day=None)


class Migration(migrations.Migration):
    dependencies = [
        ("planning", "0001_initial"),
        ("readiness", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(clear_plan_days, migrations.RunPython.noop),
        migrations.RemoveField(model_name="trainingsession", name="plan_job_id"),
        migrations.AddField(
            model_name="trainingsession",
            name="plan_job",
            field=models.ForeignKey(
                blank=True,
                help_text="the completed plan job of this athlete whose session this is",
                null=True,
                on_delete=planning.readiness.models.unlink_plan,
                related_name="sessions",
                to="planning.planjob",
            ),
        ),
        migrations.AlterField(
            model_name="trainingsession",
            name="plan_day",
            field=models.PositiveIntegerField(
                blank=True, help_text="day of that plan with a session (1 = Monday of week 1)", null=True
            ),
        ),
    ]

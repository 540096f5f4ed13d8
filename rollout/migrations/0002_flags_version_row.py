from __future__ import annotations

from django.db import migrations


def create_version_row(apps, schema_editor):  # type: ignore[no-untyped-def]
    FlagsVersion = apps.get_model("rollout", "FlagsVersion")
    FlagsVersion.objects.get_or_create(pk=1, defaults={"version": 0})


class Migration(migrations.Migration):
    dependencies = [("rollout", "0001_initial")]
    operations = [migrations.RunPython(create_version_row, migrations.RunPython.noop)]

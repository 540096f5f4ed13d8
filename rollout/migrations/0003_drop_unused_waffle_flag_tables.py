"""waffle's own migration creates waffle_flag and its M2M tables even though WAFFLE_FLAG_MODEL points at
rollout.Flag. The unused M2M tables hold foreign keys to core_user and auth_group, which makes PostgreSQL refuse
to TRUNCATE those tables (Django's flush); nothing reads them, so they are dropped.

Reversing recreates them exactly as waffle's migrations left them (from the migration state), so waffle's own
migrations can then be reversed in turn (``migrate core zero`` needs that)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def recreate_waffle_flag_tables(apps: Any, schema_editor: Any) -> None:
    existing = set(schema_editor.connection.introspection.table_names())
    model = apps.get_model("waffle", "Flag")
    if model._meta.db_table not in existing:
        schema_editor.create_model(model)  # with its M2M tables


class Migration(migrations.Migration):
    dependencies = [
        ("rollout", "0002_flags_version_row"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]
    operations = [
        migrations.RunSQL(
            [
                "DROP TABLE IF EXISTS waffle_flag_users",
                "DROP TABLE IF EXISTS waffle_flag_groups",
                "DROP TABLE IF EXISTS waffle_flag",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunPython(migrations.RunPython.noop, recreate_waffle_flag_tables),
    ]

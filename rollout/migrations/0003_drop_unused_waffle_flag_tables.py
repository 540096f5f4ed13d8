"""waffle's own migration creates waffle_flag and its M2M tables even though WAFFLE_FLAG_MODEL points at
rollout.Flag. The unused M2M tables hold foreign keys to core_user and auth_group, which makes PostgreSQL refuse
to TRUNCATE those tables (Django's flush); nothing reads them, so they are dropped."""

from __future__ import annotations

from django.db import migrations


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
        )
    ]

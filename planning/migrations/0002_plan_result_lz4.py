"""PostgreSQL: compress ``plan_jobs.result_data`` with lz4 rather than pglz.

A plan is ~43 kB of JSON, written once per plan job; pglz compressing it is a large part of that write on the
database server (about a third in a measurement on the shared dev box), lz4 is several times faster and here
compresses as well. Only PostgreSQL 14+ built with lz4 offers it; elsewhere (and on SQLite) nothing changes.
Rows already written keep their compression; the column's data and type are unchanged.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _lz4_available(schema_editor: Any) -> bool:
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        row = cursor.fetchone()
    return bool(row and row[0])


def use_lz4(apps: Any, schema_editor: Any) -> None:
    if _lz4_available(schema_editor):
        schema_editor.execute("ALTER TABLE plan_jobs ALTER COLUMN result_data SET COMPRESSION lz4")


def use_default(apps: Any, schema_editor: Any) -> None:
    if _lz4_available(schema_editor):
        schema_editor.execute("ALTER TABLE plan_jobs ALTER COLUMN result_data SET COMPRESSION default")


class Migration(migrations.Migration):
    dependencies = [("planning", "0001_initial")]
    operations = [migrations.RunPython(use_lz4, use_default)]

"""What the database actually has, compared with what the models expect (tables, columns, indexes)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


def schema_status(models: list[type[Model]] | None = None, *, using: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """For each model: its table present, columns missing, named indexes and constraints missing.

    ``ok`` is True when nothing is missing. Costs one introspection query per table.
    """
    connection = connections[using]
    models = models or [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        report: dict[str, Any] = {"ok": True, "tables": {}}
        for model in models:
            table = model._meta.db_table
            entry: dict[str, Any] = {"present": table in tables, "missing_columns": [], "missing_indexes": []}
            if entry["present"]:
                columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
                expected = [f.column for f in model._meta.local_concrete_fields]
                entry["missing_columns"] = [c for c in expected if c not in columns]
                entry["columns"] = len(expected)
                constraints = connection.introspection.get_constraints(cursor, table)
                wanted = [i.name for i in model._meta.indexes if i.name]
                wanted += [c.name for c in model._meta.constraints if getattr(c, "name", None)]
                entry["indexes"] = sorted(wanted)
                entry["missing_indexes"] = [n for n in wanted if n not in constraints]
            if not entry["present"] or entry["missing_columns"] or entry["missing_indexes"]:
                report["ok"] = False
            report["tables"][table] = entry
    return report

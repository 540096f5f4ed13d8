"""Whether an app's tables exist: ``post_migrate`` handlers skip apps that were just migrated to zero.

Why: ``migrate rollout zero`` used to exit 1 because rollout's handler, which syncs registered flags after
every ``migrate``, ran against the tables the command had just dropped.
"""

from __future__ import annotations

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections


def app_tables_present(app_label: str, using: str = DEFAULT_DB_ALIAS) -> bool:
    """True when every managed model of ``app_label`` has its table in the database ``using``."""
    existing = set(connections[using].introspection.table_names())
    models = [model for model in apps.get_app_config(app_label).get_models() if model._meta.managed]
    return all(model._meta.db_table in existing for model in models)

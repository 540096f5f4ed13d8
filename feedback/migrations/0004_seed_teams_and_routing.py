"""The teams the acknowledgements name and one routing rule per category (data rows, edited by ops in the
admin afterwards; this migration never overwrites an existing row)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

TEAMS = ("Training science", "Reliability", "Product")
ROUTES = {
    "accuracy": "Training science",
    "performance": "Reliability",
    "reliability": "Reliability",
    "usability": "Product",
    "documentation": "Product",
    "other": "Product",
}


def seed(apps: Any, schema_editor: Any) -> None:
    team_model = apps.get_model("feedback", "Team")
    rule_model = apps.get_model("feedback", "RoutingRule")
    teams = {name: team_model.objects.get_or_create(name=name)[0] for name in TEAMS}
    for category, team in ROUTES.items():
        rule_model.objects.get_or_create(category=category, defaults={"team": teams[team]})


class Migration(migrations.Migration):
    dependencies = [("feedback", "0003_daily_counts")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

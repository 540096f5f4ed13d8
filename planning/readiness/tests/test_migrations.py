"""readiness 0002: the integer ``plan_job_id`` becomes a foreign key to ``planning.PlanJob`` (UUID) — on a
database with sessions, the old values (which could name no plan) are dropped with their days, every session
stays, and a real link can be stored afterwards."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from planning.models import PlanJob
from planning.readiness.experiment_metrics import SYNTHETIC_PLAN, SYNTHETIC_PLAN_DAY
from planning.readiness.models import TrainingSession

BEFORE = [("readiness", "0001_initial")]


def _migrate(targets: list[tuple[str, str]] | None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_integer_plan_links_are_dropped_and_every_session_kept(make_user: Any) -> None:
    athlete = make_user("athlete")
    executor = _migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("readiness", "TrainingSession")
    rows = [
        old.objects.create(athlete_id=athlete.pk, date=date(2026, 3, 2), plan_job_id=12, plan_day=3, notes="linked"),
        old.objects.create(athlete_id=athlete.pk, date=date(2026, 3, 3), plan_day=2, notes="day only"),
        old.objects.create(athlete_id=athlete.pk, date=date(2026, 3, 4), plan_job_id=7, notes="job only"),
        old.objects.create(
            athlete_id=athlete.pk, date=date(2026, 3, 5), completed=True, session_quality=8, notes="unlinked"
        ),
    ]

    _migrate(None)

    after = {s.notes: s for s in TrainingSession.objects.filter(pk__in=[r.pk for r in rows])}
    assert set(after) == {"linked", "day only", "job only", "unlinked"}
    assert {(s.plan_job_id, s.plan_day) for s in after.values()} == {(None, None)}
    assert after["unlinked"].session_quality == 8 and after["unlinked"].completed
    plan_job = PlanJob.objects.create(
        user=athlete, request={}, status=PlanJob.Status.COMPLETED, result_data={"plan": SYNTHETIC_PLAN}
    )
    TrainingSession.objects.filter(pk=after["linked"].pk).update(plan_job=plan_job, plan_day=SYNTHETIC_PLAN_DAY)
    assert list(plan_job.sessions.values_list("notes", flat=True)) == ["linked"]

"""Refits: versioned outputs, one at a time, the command, the beat entry, priors fallback and the engine cache."""

from __future__ import annotations

import logging
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_celery_beat.models import PeriodicTask

from core.models import Job
from core.schedules import schedules_sync
from planning.readiness import engine
from planning.readiness.models import ModelOutput, PopulationModel, RefitRun, Rule
from planning.readiness.ops import ERROR_METRIC, GUARD_RULE_NAME
from planning.readiness.refit import RefitAlreadyRunning, refit_start
from planning.readiness.schedules import NIGHTLY_REFIT
from planning.readiness.services import rule_save
from planning.readiness.tests.conftest import run_queued_jobs
from rollout.monitoring.models import AlertRule

pytestmark = pytest.mark.django_db


# The population the data is drawn from: each athlete's own β_j ~ N(MU, diag(SPREAD²)). A real random-effects
# population (no variance component at zero), so EM reaches its optimum well inside READINESS_EM_MAX_CYCLES;
# with one β shared by everyone Σ's maximum is on the boundary and capped EM is stopped before convergence.
MU = np.array([6.0, 0.4, 0.5, -0.3, -0.3, 0.1])
SPREAD = np.array([1.0, 0.8, 0.8, 0.8, 0.8, 0.8])


def population(make_user: Any, sessions_for: Any, athletes: int = 22, n: int = 20) -> list[Any]:
    """``athletes`` athletes with ``n`` sessions each (the first one only 4: a cold start), seeded per athlete."""
    users = [make_user("athlete") for _ in range(athletes)]
    for k, user in enumerate(users):
        beta = MU + SPREAD * np.random.default_rng(1000 + k).normal(size=MU.size)
        sessions_for(user, n if k else 4, seed=k, beta=beta)
    return users


def test_full_refit_writes_a_new_active_version_and_keeps_the_seed_query_working(
    make_user: Any, sessions_for: Any
) -> None:
    users = population(make_user, sessions_for)
    run = refit_start(reason="test")
    assert run_queued_jobs() == 1
    run.refresh_from_db()
    assert run.status == "succeeded" and not run.current and Job.objects.get(pk=run.job_id).progress_done == len(users)
    active = PopulationModel.objects.get(status="active")
    assert active.source == "fitted" and active.version == run.version and active.converged
    phases = dict(ModelOutput.objects.filter(model_version=active.version).values_list("user_id", "phase"))
    assert phases[users[0].pk] == "cold_start" and phases[users[1].pk] == "learning"
    with connection.cursor() as cursor:
        cursor.execute("SELECT user_id, phase, sessions_included, last_trained_at FROM model_outputs LIMIT 10;")
        assert len(cursor.fetchall()) == 10
    second = refit_start(reason="again")
    run_queued_jobs()
    second.refresh_from_db()
    assert PopulationModel.objects.get(status="active").version == second.version == run.version + 1
    # the second refit starts from the first fit (same statistics): the same population, to 1e-3
    assert np.allclose(PopulationModel.objects.get(version=second.version).mu, active.mu, atol=1e-3)


def test_small_population_uses_literature_priors(make_user: Any, sessions_for: Any) -> None:
    population(make_user, sessions_for, athletes=3)
    refit_start(reason="small")
    run_queued_jobs()
    assert PopulationModel.objects.get(status="active").source == "literature"


def test_second_refit_is_refused_while_one_runs(make_user: Any) -> None:
    refit_start(reason="first")
    with pytest.raises(RefitAlreadyRunning) as exc:
        refit_start(reason="second")
    assert exc.value.status == 409 and "already running" in exc.value.message
    with pytest.raises(CommandError) as cmd:
        call_command("refit_readiness", "--all", stdout=StringIO())
    assert cmd.value.returncode == 2 and "already running" in str(cmd.value)


def test_command_refits_one_athlete(make_user: Any, sessions_for: Any) -> None:
    athlete = make_user("athlete")
    sessions_for(athlete, 12)
    out = StringIO()
    call_command("refit_readiness", "--athlete", str(athlete.pk), stdout=out)
    assert "queued" in out.getvalue()
    run_queued_jobs()
    assert ModelOutput.objects.get(user=athlete).sessions_included == 12
    assert RefitRun.objects.get().status == "succeeded"
    with pytest.raises(CommandError):
        call_command("refit_readiness", "--athlete", "999999", stdout=StringIO())


def test_failed_refit_leaves_the_previous_version_serving(make_user: Any, sessions_for: Any, settings: Any) -> None:
    population(make_user, sessions_for)
    refit_start(reason="first")
    run_queued_jobs()
    serving = PopulationModel.objects.get(status="active").version
    settings.READINESS_REFIT_CHUNK_ATHLETES = "not a number"  # the write phase breaks after the fit
    broken = refit_start(reason="broken")
    run_queued_jobs()
    broken.refresh_from_db()
    assert broken.status == "failed" and not broken.current and broken.error
    assert PopulationModel.objects.get(status="active").version == serving
    assert PopulationModel.objects.get(version=broken.version).status == "failed"


def test_nightly_beat_entry_exists_after_migrate_and_survives_a_restart() -> None:
    task = PeriodicTask.objects.get(name=NIGHTLY_REFIT)
    assert task.task == "readiness.nightly_refit" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "2", "UTC")
    task.enabled = False  # an ops edit in the admin
    task.save()
    report = schedules_sync()  # what every start-up (migrate / setup_schedules) runs
    assert NIGHTLY_REFIT in report.unchanged
    assert PeriodicTask.objects.get(name=NIGHTLY_REFIT).enabled is False


def test_engine_cache_logs_refresh_and_is_invalidated_on_rule_save(caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="planning.readiness.engine"):
        rules, _ = engine.cached_rules_and_population()
    assert any(r.getMessage() == f"[ENGINE] Cache refreshed: 6 priors, {len(rules)} rules" for r in caplog.records)
    rule_save(
        rule=Rule(
            name="Low motivation",
            field="motivation",
            operator="lte",
            threshold=1,
            action="technique_only",
            message="no drive today",
            priority=10,
        )
    )
    again, _ = engine.cached_rules_and_population()
    assert len(again) == len(rules) + 1


def test_prediction_error_metric_has_a_guard_rule() -> None:
    rule = AlertRule.objects.get(name=GUARD_RULE_NAME)
    assert rule.metric == ERROR_METRIC and rule.aggregation == "mean" and rule.group_by == ["source"]

"""Plan jobs in batches: one message runs the queued plan jobs, a bad plan fails alone, a dead batch runs again once."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from waffle.testutils import override_flag

from conftest import REPO
from core import jobs
from core.models import Job
from planning.models import PlanJob
from planning.services.plans import JOB_KIND, plan_job_request
from rollout import flags
from rollout.monitoring.models import MetricMinute
from rollout.monitoring.recorder import flush

BODY = {"weeklyGoalDays": 3, "availabilityDays": 4, "goals": ["strength"], "experience": "beginner"}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def library() -> None:
    foundational = REPO / "planning" / "data" / "movements-foundational.json"
    call_command("import_movements", str(foundational), "--publish", stdout=io.StringIO())


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(jobs, "_send", calls.append)
    return calls


def _request(make_user: Any, count: int) -> list[PlanJob]:
    athlete = make_user("athlete")
    return [
        plan_job_request(requester=athlete, data={**BODY, "userId": athlete.pk, "seed": seed})[0]
        for seed in range(count)
    ]


def _state(plan_jobs: list[PlanJob]) -> list[tuple[str, str]]:
    rows = {row.pk: row for row in PlanJob.objects.filter(pk__in=[p.pk for p in plan_jobs]).select_related("core_job")}
    return [(rows[p.pk].status, rows[p.pk].core_job.status) for p in plan_jobs]


def test_one_message_completes_every_queued_plan_job_in_one_batch(make_user: Any) -> None:
    plan_jobs = _request(make_user, 4)
    with override_flag("v1_planning_scoring", active=True):
        flags.reset()
        finished = jobs.job_run(plan_jobs[0].core_job_id)
    assert finished is not None and finished.result["written"] is True
    assert _state(plan_jobs) == [("completed", "succeeded")] * 4
    assert Job.objects.filter(kind=JOB_KIND, attempts=1).count() == 4
    for plan_job in PlanJob.objects.filter(pk__in=[p.pk for p in plan_jobs]):
        assert plan_job.result_data["plan"]["sessionsPerWeek"] == 3 and plan_job.score_total is not None
        assert plan_job.started_at is not None and plan_job.finished_at is not None
    assert [jobs.job_run(p.core_job_id) for p in plan_jobs[1:]] == [None] * 3  # their messages: no-ops
    flush()
    generated = MetricMinute.objects.filter(metric="planning.plans_generated", tags__scored="yes")
    assert sum(generated.values_list("sum", flat=True)) == 4  # counted once each


def test_a_plan_that_cannot_be_made_fails_alone(make_user: Any) -> None:
    plan_jobs = _request(make_user, 4)
    broken = PlanJob.objects.get(pk=plan_jobs[1].pk)
    broken.request = {**broken.request, "weeklyGoalDays": 9}  # generation refuses it
    broken.save(update_fields=["request"])
    buggy = PlanJob.objects.get(pk=plan_jobs[2].pk)
    buggy.request = {
        key: value for key, value in buggy.request.items() if key != "goals"
    }  # a stored row it cannot read
    buggy.save(update_fields=["request"])
    jobs.job_run(plan_jobs[0].core_job_id)
    assert _state(plan_jobs) == [
        ("completed", "succeeded"),
        ("failed", "failed"),
        ("failed", "failed"),
        ("completed", "succeeded"),
    ]
    broken.refresh_from_db()
    assert broken.error == "weeklyGoalDays must be from 1 to 7" and broken.result_data is None
    assert Job.objects.get(pk=broken.core_job_id).error == "weeklyGoalDays must be from 1 to 7"
    buggy.refresh_from_db()
    assert buggy.error == "KeyError: 'goals'" and Job.objects.get(pk=buggy.core_job_id).error == "KeyError: 'goals'"


def test_a_core_job_whose_plan_job_is_gone_fails_alone(make_user: Any) -> None:
    plan_jobs = _request(make_user, 2)
    orphan = Job.objects.create(kind=JOB_KIND, params={"plan_job_id": "6d0f3c1e-0000-4000-8000-000000000000"})
    jobs.job_run(orphan.pk)
    orphan.refresh_from_db()
    assert orphan.status == "failed" and orphan.error == "plan job 6d0f3c1e-0000-4000-8000-000000000000 does not exist"
    assert _state(plan_jobs) == [("completed", "succeeded")] * 2


def test_a_batch_whose_worker_died_runs_again_with_one_result_each(make_user: Any, sent: list[int]) -> None:
    plan_jobs = _request(make_user, 3)
    ids = sorted(p.core_job_id for p in plan_jobs)
    # a worker killed inside its batch: every plan job claimed, none finished
    assert jobs._claim(ids[0]) is not None and len(jobs._claim_more(JOB_KIND, 10)) == 2
    later = timezone.now() + timedelta(seconds=settings.JOB_RUNNING_TIMEOUT_SECONDS + 1)
    assert jobs.jobs_sweep(now=later).requeued == 3
    jobs.job_run(ids[2])
    assert _state(plan_jobs) == [("completed", "succeeded")] * 3
    assert set(Job.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {2}
    before = {p.pk: p.result_data for p in PlanJob.objects.filter(pk__in=[p.pk for p in plan_jobs])}
    for plan_job in plan_jobs:  # a late duplicate of any message changes nothing
        Job.objects.filter(pk=plan_job.core_job_id).update(status="queued")  # even one that claims again
        jobs.job_run(plan_job.core_job_id)
    after = {p.pk: p.result_data for p in PlanJob.objects.filter(pk__in=[p.pk for p in plan_jobs])}
    assert after == before and PlanJob.objects.count() == 3

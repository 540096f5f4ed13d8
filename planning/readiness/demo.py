"""Demo data: athletes whose sessions are drawn from a known hierarchical model (``DEMO_TRUTH``), so a refit
can be seen to recover it. Some athletes are cold (3–8 sessions), some learning (12–25), some personalised
(40–80). Bulk-written with frozen features and then one refit in-process (about a second).

The regular athlete ('athlete') trains on the demo plan planning's seeder queued for them: that plan is generated
in-process when still queued (the worker then finds it completed and leaves it), and the athlete's sessions that
fall on a session day of it — the plan counted from the day of their first session — link to that plan day."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from core.demo import DemoUsers
from core.jobs import JobError
from core.models import User
from planning.engine.days import session_days
from planning.models import PlanJob
from planning.readiness.models import CheckIn, TrainingSession
from planning.readiness.priors import FEATURES
from planning.readiness.refit import RefitAlreadyRunning, refit_start
from planning.services.plans import plan_job_run

# The true population (FEATURES order): what a refit on the demo data should find, within sampling error.
DEMO_MU = np.array([6.2, 0.45, 0.5, -0.35, -0.3, 0.15])
DEMO_SD = np.array([0.9, 0.2, 0.25, 0.15, 0.15, 0.1])
DEMO_SIGMA2 = 1.0
ITEM_SD = np.array([1.0, 0.8, 0.8, 0.8, 1.0])  # sleep h, energy, stress, soreness, form/10


def demo_sessions_per_athlete(count: int) -> list[int]:
    bands = [(3, 8), (12, 25), (40, 80)]
    rng = np.random.default_rng(7)
    return [int(rng.integers(*bands[k % 3])) for k in range(count)]


def demo_plan(athlete: User) -> PlanJob | None:
    """The athlete's first plan job, generated now if still queued; None without one or if it failed."""
    plan_job = PlanJob.objects.filter(user=athlete).order_by("created_at").first()
    if plan_job is None:
        return None
    if plan_job.status in (PlanJob.Status.QUEUED, PlanJob.Status.RUNNING):
        try:
            plan_job_run(plan_job_id=str(plan_job.pk))
        except JobError:  # no usable library: the plan job is marked failed, the sessions stay unlinked
            return None
        plan_job.refresh_from_db()
    return plan_job if plan_job.status == PlanJob.Status.COMPLETED else None


def link_to_plan(sessions: list[TrainingSession], plan_job: PlanJob) -> int:
    """Link the sessions (one athlete's, by date) that fall on a session day of the plan, counting the plan's
    first session day from the first session's date. Returns how many were linked."""
    days = session_days((plan_job.result_data or {}).get("plan") or {})
    if not days or not sessions:
        return 0
    start = sessions[0].date - timedelta(days=days[0] - 1)  # the plan's day 1
    wanted = set(days)
    linked = 0
    for session in sessions:
        day = (session.date - start).days + 1
        if day in wanted:
            session.plan_job, session.plan_day = plan_job, day
            linked += 1
    return linked


@transaction.atomic
def seed_readiness_demo(users: DemoUsers) -> str:
    athletes = [users.regular, *users.beta, *users.athletes]
    if TrainingSession.objects.filter(athlete_id__in=[a.pk for a in athletes]).exists():
        return "already seeded"
    rng = np.random.default_rng(2026)
    counts = demo_sessions_per_athlete(len(athletes))
    today = timezone.localdate()
    sessions: list[TrainingSession] = []
    checkins: list[CheckIn] = []
    now = timezone.now()
    for athlete, n in zip(athletes, counts, strict=True):
        beta = DEMO_MU + DEMO_SD * rng.standard_normal(DEMO_MU.size)
        means = np.array([7.3, 3.2, 2.6, 2.4])
        for i in range(n):
            x_items = rng.normal(0.0, ITEM_SD)
            x = np.concatenate([[1.0], x_items])
            quality = int(np.clip(np.rint(x @ beta + rng.normal(0, DEMO_SIGMA2**0.5)), 1, 10))
            day = today - timedelta(days=2 * (n - i))
            raw = means + x_items[:4]
            checkins.append(
                CheckIn(
                    athlete=athlete,
                    date=day,
                    sleep_hours=round(float(np.clip(raw[0], 3, 11)), 1),
                    energy_level=int(np.clip(np.rint(raw[1]), 1, 5)),
                    stress_level=int(np.clip(np.rint(raw[2]), 1, 5)),
                    soreness=int(np.clip(np.rint(raw[3]), 1, 5)),
                )
            )
            sessions.append(
                TrainingSession(
                    athlete=athlete,
                    date=day,
                    sport="general",
                    session_type="mixed",
                    planned_duration_min=60,
                    actual_duration_min=60,
                    completed=True,
                    completed_at=now,
                    session_quality=quality,
                    session_rpe=int(np.clip(10 - quality + 3, 1, 10)),
                    in_model=True,
                    **dict(
                        zip(("x_sleep", "x_energy", "x_stress", "x_soreness", "x_form"), x_items.tolist(), strict=True)
                    ),
                )
            )
    plan_job = demo_plan(users.regular)
    regular_sessions = sorted((s for s in sessions if s.athlete == users.regular), key=lambda s: s.date)
    linked = link_to_plan(regular_sessions, plan_job) if plan_job is not None else 0
    created = CheckIn.objects.bulk_create(checkins, batch_size=500)
    for session, checkin in zip(sessions, created, strict=True):
        session.checkin_id = checkin.pk
    TrainingSession.objects.bulk_create(sessions, batch_size=500)
    with contextlib.suppress(RefitAlreadyRunning):  # a worker fits the demo population when `make run` starts one
        refit_start(reason="demo data", trigger="demo")
    truth = dict(zip(FEATURES, DEMO_MU.tolist(), strict=True))
    plan_note = f"{linked} of 'athlete' linked to plan job {plan_job.pk}" if plan_job else "no plan to link to"
    return f"{len(sessions)} sessions for {len(athletes)} athletes, {plan_note} (true μ = {truth})"

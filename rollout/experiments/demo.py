"""Demo experiments whose data show three verdicts, and one shadow comparison of the two TRIMP methods.

Each experiment gets its own synthetic (inactive) users and one satisfaction survey each, created through the
feedback app's registered metric source, so the numbers come from the same SQL and statistics as real ones.
Idempotent: an experiment that exists is left alone.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.demo import DemoUsers
from rollout.experiments.analysis import experiment_analyse
from rollout.experiments.models import Experiment, ShadowRun
from rollout.experiments.services import MetricSpec, VariantSpec, experiment_create, experiment_start
from rollout.experiments.shadow_runs import shadow_run
from rollout.experiments.testing import Arm, populate
from rollout.shadow import shadow_comparison

# key, name, days running, arms (variant, users, mean rating, sd), what the data are built to show
DEMO: list[tuple[str, str, float, list[Arm], str]] = [
    (
        "demo-trimp-method",
        "TRIMP method: average-HR vs stream",
        10,
        [Arm("average_hr", 1000, 3.5, 0.7), Arm("stream", 1000, 3.75, 0.7)],
        "ship",
    ),
    (
        "demo-zone-model",
        "Zone model: Edwards vs Lucia",
        3,
        [Arm("edwards", 200, 3.6, 0.8), Arm("lucia", 200, 3.65, 0.8)],
        "keep_running",
    ),
    (
        "demo-onboarding-split",
        "Onboarding survey prompt (broken assignment)",
        9,
        [Arm("control", 500, 3.6, 0.8), Arm("prompt", 620, 3.6, 0.8)],
        "invalid",
    ),
]


def seed_experiments_demo(users: DemoUsers) -> str:
    verdicts = []
    now = timezone.now()
    for seed, (key, name, days, arms, _expected) in enumerate(DEMO):
        if Experiment.objects.filter(key=key).exists():
            continue
        experiment_create(
            key=key,
            name=name,
            variants=[VariantSpec(arm.variant, 50.0) for arm in arms],
            metrics=[
                MetricSpec("feedback.rating", "primary", mde=0.05),
                MetricSpec("feedback.satisfied", "secondary"),
                MetricSpec("feedback.poor_rating", "guardrail", mde=0.2),
            ],
            hypothesis="Athletes rate the new method's numbers higher.",
            owner=users.admin,
            actor=users.admin,
            source="command",
        )
        experiment = experiment_start(key=key, now=now - timedelta(days=days))
        populate(experiment, arms, source="feedback.rating", start=experiment.started_at, seed=seed, prefix=key)
        verdicts.append(f"{key} → {experiment_analyse(key=key).verdict}")
    if shadow_comparison("trimp-method") is not None and not ShadowRun.objects.filter(name="trimp-method").exists():
        run = shadow_run(name="trimp-method")
        verdicts.append(f"shadow trimp-method: {run.compared} activities compared")
    return "; ".join(verdicts) or "already seeded"

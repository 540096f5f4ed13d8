"""Demo: the rollouts features registered (``rollout.registry.register_demo_rollout``), guarded, at their
demo stage (training registers enhanced TRIMP at beta, so the demo shows both methods)."""

from __future__ import annotations

from typing import Any

from core.errors import ServiceError
from rollout.models import Rollout
from rollout.registry import DemoRollout, registered_demo_rollouts
from rollout.rollouts import rollout_configure_guards, rollout_set_phase, rollout_start


def _seed_one(spec: DemoRollout, users: Any) -> str:
    """Idempotent: leaves an existing rollout of the flag alone."""
    flag = spec.flag
    if Rollout.objects.filter(flag__name=flag).exists():
        return f"rollout of {flag} already present"
    rollout_start(flag_name=flag, actor=users.admin, reason=spec.reason, source="demo")
    rollout_configure_guards(
        flag_name=flag, actor=users.admin, guard_rules=list(spec.guard_rules), guard_consecutive=spec.guard_consecutive
    )
    try:
        rollout_set_phase(
            flag_name=flag, phase=spec.phase, actor=users.admin, reason=f"demo: {spec.phase}", source="demo"
        )
    except ServiceError as exc:  # a gate failed (e.g. no broker): the rollout stays at its first stage
        return f"rollout of {flag} started; {spec.phase} stage blocked: {exc.message}"
    return f"rollout of {flag} at {spec.phase}, guarded by {', '.join(spec.guard_rules)}"


def seed_rollout_demo(users: Any) -> str:
    return "; ".join(_seed_one(spec, users) for spec in registered_demo_rollouts()) or "no demo rollout registered"

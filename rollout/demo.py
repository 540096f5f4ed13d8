"""Demo: the enhanced TRIMP rollout, guarded, at its beta stage (so the demo shows both methods)."""

from __future__ import annotations

from typing import Any

from core.errors import ServiceError
from rollout.models import Rollout
from rollout.rollouts import rollout_configure_guards, rollout_set_phase, rollout_start

FLAG = "enhanced_trimp_calculation"
GUARDS = ["TRIMP error rate", "TRIMP success rate", "TRIMP calculation time p95"]


def seed_rollout_demo(users: Any) -> str:
    """Idempotent: leaves an existing rollout of the flag alone."""
    if Rollout.objects.filter(flag__name=FLAG).exists():
        return "rollout already present"
    rollout_start(flag_name=FLAG, actor=users.admin, reason="demo: ship stream-based TRIMP", source="demo")
    rollout_configure_guards(flag_name=FLAG, actor=users.admin, guard_rules=GUARDS, guard_consecutive=3)
    try:
        rollout_set_phase(flag_name=FLAG, phase="beta_rollout", actor=users.admin, reason="demo: beta", source="demo")
    except ServiceError as exc:  # a gate failed (e.g. no broker): the rollout stays at its first stage
        return f"rollout of {FLAG} started; beta stage blocked: {exc.message}"
    return f"rollout of {FLAG} at beta_rollout, guarded by {', '.join(GUARDS)}"

"""Gates: checks a rollout must pass to move forward. Rollbacks never run them.

Other apps (monitoring) plug in health gates with ``register_gate``; a gate receives a ``GateContext`` and
answers one or more ``GateResult``. A gate that raises counts as failed, with the exception as its detail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateContext:
    rollout_id: int
    flag_name: str
    from_stage: str
    to_stage: str
    stage_entered_at: datetime
    now: datetime
    guard_rules: tuple[int, ...] = ()


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Gate = Callable[[GateContext], GateResult | list[GateResult]]
_GATES: dict[str, tuple[int, Gate]] = {}


def register_gate(name: str, gate: Gate, *, order: int = 100) -> None:
    """Add (or replace) a gate; lower ``order`` runs first."""
    _GATES[name] = (order, gate)


def unregister_gate(name: str) -> None:
    _GATES.pop(name, None)


def registered_gates() -> list[str]:
    return [name for name, _ in sorted(_GATES.items(), key=lambda item: (item[1][0], item[0]))]


def run_gates(context: GateContext) -> list[GateResult]:
    results: list[GateResult] = []
    for name in registered_gates():
        _, gate = _GATES[name]
        try:
            outcome = gate(context)
        except Exception as exc:
            logger.exception("gate %s raised", name)
            results.append(GateResult(name=name, passed=False, detail=f"gate error: {type(exc).__name__}: {exc}"))
            continue
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results

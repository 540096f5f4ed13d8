"""Rollout plans as data: stage names mapped to target flag states (pure, no Django).

A stage state says which cohorts have the flag: ``admin`` (staff + superusers), ``beta`` (the beta group),
``percent`` (everyone else, by bucket). The default plan is the original runbooks' phases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BETA_GROUP = "beta"


@dataclass(frozen=True)
class StageState:
    admin: bool = False
    beta: bool = False
    percent: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"admin": self.admin, "beta": self.beta, "percent": self.percent}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageState:
        unknown = set(data) - {"admin", "beta", "percent"}
        if unknown:
            raise ValueError(f"unknown stage state keys: {', '.join(sorted(unknown))}")
        percent = data.get("percent", 0)
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
            raise ValueError(f"percent must be an integer 0–100, got {percent!r}")
        for key in ("admin", "beta"):
            if not isinstance(data.get(key, False), bool):
                raise ValueError(f"{key} must be true or false")
        return cls(admin=data.get("admin", False), beta=data.get("beta", False), percent=percent)


OFF = StageState()
CATALOGUE: dict[str, StageState] = {
    "pre_deployment": OFF,
    "deployed_disabled": OFF,
    "admin_testing": StageState(admin=True),
    "beta_rollout": StageState(admin=True, beta=True),
    "percent_5": StageState(admin=True, beta=True, percent=5),
    "percent_10": StageState(admin=True, beta=True, percent=10),
    "percent_25": StageState(admin=True, beta=True, percent=25),
    "percent_50": StageState(admin=True, beta=True, percent=50),
    "percent_75": StageState(admin=True, beta=True, percent=75),
    "general_release": StageState(admin=True, beta=True, percent=100),
    "monitoring": StageState(admin=True, beta=True, percent=100),
}
DEFAULT_PLAN: tuple[str, ...] = (
    "pre_deployment",
    "deployed_disabled",
    "admin_testing",
    "beta_rollout",
    "percent_5",
    "percent_25",
    "percent_50",
    "general_release",
    "monitoring",
)


class PlanError(ValueError):
    pass


def build_plan(spec: list[Any] | tuple[Any, ...] | str | None = None) -> list[dict[str, Any]]:
    """Normalise a plan: None → the default; a comma-separated string or list of catalogue names; or a list of
    ``{"name": ..., "state": {...}}`` for custom stages. Names must be unique; at least two stages."""
    if spec is None:
        spec = list(DEFAULT_PLAN)
    if isinstance(spec, str):
        spec = [part.strip() for part in spec.split(",") if part.strip()]
    if not isinstance(spec, list | tuple):
        raise PlanError("a plan is a list of stages (names or {name, state} objects) or a comma-separated string")
    plan: list[dict[str, Any]] = []
    for item in spec:
        if isinstance(item, str):
            if item not in CATALOGUE:
                raise PlanError(f"unknown stage {item!r}; known: {', '.join(CATALOGUE)} (or give a state)")
            plan.append({"name": item, "state": CATALOGUE[item].as_dict()})
        elif isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            state = item.get("state")
            if state is None:
                if item["name"] not in CATALOGUE:
                    raise PlanError(f"stage {item['name']!r} needs a state")
                state = CATALOGUE[item["name"]].as_dict()
            try:
                plan.append({"name": item["name"], "state": StageState.from_dict(state).as_dict()})
            except (ValueError, AttributeError, TypeError) as exc:
                raise PlanError(f"stage {item['name']!r}: {exc}") from exc
        else:
            raise PlanError(f"a stage is a name or an object with a name and a state, not {item!r}")
    names = [stage["name"] for stage in plan]
    if len(plan) < 2:
        raise PlanError("a plan needs at least two stages")
    if len(set(names)) != len(names):
        raise PlanError("stage names in a plan must be unique")
    return plan

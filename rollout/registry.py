"""What feature apps register with rollout at start-up (from their ``AppConfig.ready``), so that rollout
never imports a feature app:

- flags (``register_flag(FlagSpec(...))``): name, default, optional environment override.
  ``flags_sync_registered()`` (run after ``migrate``) creates the registered flags that do not exist yet,
  with their defaults, and never touches a flag that exists: ops own its state from then on.
- alert rules (``register_alert_rule(AlertRuleSpec(...))``): created once after ``migrate`` by
  ``monitoring_sync_defaults()`` when no rule of that name exists, then owned by ops.
- demo rollouts (``register_demo_rollout(DemoRollout(...))``): started by ``seed_demo``.
- re-scoring after a rollback (``register_rescore(RescoreHook(...))``): which stored results were computed
  under the method a flag turns on and whose owners no longer get it, and how to recompute them (a job).

Gates have their own registry in ``rollout/gates.py`` (``register_gate``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


@dataclass(frozen=True)
class FlagSpec:
    name: str
    description: str
    default_on: bool = False
    env_override: str | None = None  # e.g. FEATURE_V1_PLANNING_SCORING=true|1|false|0 wins over the database
    owner: str = ""


_SPECS: dict[str, FlagSpec] = {}


def parse_override(spec: FlagSpec) -> bool | None:
    """The override's value, None when unset; a value other than true/1/false/0 stops start-up."""
    if not spec.env_override:
        return None
    raw = os.environ.get(spec.env_override)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{spec.env_override}={raw!r}: use true, 1, false or 0.")


def register_flag(spec: FlagSpec) -> FlagSpec:
    parse_override(spec)  # fail fast on a bad environment value
    _SPECS[spec.name] = spec
    return spec


def registered_flags() -> list[FlagSpec]:
    return [_SPECS[name] for name in sorted(_SPECS)]


def env_overrides() -> dict[str, bool]:
    """Flag name → forced value, for every registered flag whose override variable is set."""
    result: dict[str, bool] = {}
    for spec in _SPECS.values():
        value = parse_override(spec)
        if value is not None:
            result[spec.name] = value
    return result


register_flag(
    FlagSpec(
        name="settings_page_enabled",
        description="Show the settings page to users.",
        default_on=True,
        owner="core",
    )
)
register_flag(
    FlagSpec(
        name="admin_dashboard_enabled",
        description="Show the ops dashboards in the admin console.",
        default_on=True,
        owner="rollout",
    )
)


@dataclass(frozen=True)
class AlertRuleSpec:
    """A default alert rule (see ``rollout.monitoring.models.AlertRule`` for the meaning of each field).

    Thresholds are in the metric's unit (ratios 0–1, milliseconds, MB); windows in minutes.
    """

    name: str
    description: str
    metric: str
    aggregation: str
    operator: str
    warning: float | None = None
    error: float | None = None
    critical: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    denominator_metric: str = ""
    group_by: tuple[str, ...] = ()
    window_minutes: int = 5
    interval_seconds: int = 60
    min_samples: int = 1
    recovery_minutes: int = 5
    owner: str = ""

    def model_fields(self) -> dict[str, Any]:
        """The AlertRule field values this spec creates a rule with."""
        return {
            "name": self.name,
            "description": self.description,
            "metric": self.metric,
            "aggregation": self.aggregation,
            "operator": self.operator,
            "warning": self.warning,
            "error": self.error,
            "critical": self.critical,
            "tags": dict(self.tags),
            "denominator_metric": self.denominator_metric,
            "group_by": list(self.group_by),
            "window_minutes": self.window_minutes,
            "interval_seconds": self.interval_seconds,
            "min_samples": self.min_samples,
            "recovery_minutes": self.recovery_minutes,
        }


_RULES: dict[str, AlertRuleSpec] = {}


def register_alert_rule(spec: AlertRuleSpec) -> AlertRuleSpec:
    existing = _RULES.get(spec.name)
    if existing is not None and existing != spec:
        raise ImproperlyConfigured(f"alert rule {spec.name!r} is registered twice with different settings")
    _RULES[spec.name] = spec
    return spec


def registered_alert_rules() -> list[AlertRuleSpec]:
    return [_RULES[name] for name in sorted(_RULES)]


@dataclass(frozen=True)
class DemoRollout:
    """A guarded rollout ``seed_demo`` starts and moves to ``phase`` (idempotent: skipped when one exists)."""

    flag: str
    phase: str
    reason: str
    guard_rules: tuple[str, ...] = ()
    guard_consecutive: int = 3
    owner: str = ""


_DEMO_ROLLOUTS: dict[str, DemoRollout] = {}


def register_demo_rollout(spec: DemoRollout) -> DemoRollout:
    _DEMO_ROLLOUTS[spec.flag] = spec
    return spec


def registered_demo_rollouts() -> list[DemoRollout]:
    return [_DEMO_ROLLOUTS[flag] for flag in sorted(_DEMO_ROLLOUTS)]


@dataclass(frozen=True)
class RescoreHook:
    """How a feature recomputes results made under a flag once the flag is rolled back for their owners.

    ``candidates()`` lists the ids of the results computed under the flag's method whose owners no longer get
    the flag (evaluated now); ``start(ids, actor, reason)`` queues a job that recomputes exactly those and
    returns its ``core.Job`` id.
    """

    flag: str
    description: str
    candidates: Callable[[], list[int]]
    start: Callable[[list[int], Any, str], int]
    owner: str = ""


_RESCORE: dict[str, RescoreHook] = {}


def register_rescore(hook: RescoreHook) -> RescoreHook:
    _RESCORE[hook.flag] = hook
    return hook


def rescore_hook(flag: str) -> RescoreHook | None:
    return _RESCORE.get(flag)

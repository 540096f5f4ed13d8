"""Flags that apps register at start-up (name, default, optional environment override).

``flags_sync_registered()`` (run after ``migrate``) creates the registered flags that do not exist yet, with
their defaults, and never touches a flag that exists: ops own its state from then on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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

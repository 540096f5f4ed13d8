"""``configs/feature_flags.yml``: the seed's five flag types mapped onto Stamina's flags.

| seed type    | fields in the file                          | the flag                                              |
|--------------|---------------------------------------------|-------------------------------------------------------|
| `boolean`    | `enabled`                                   | on: `everyone = true`; off: no targeting (`default`)  |
| `percentage` | `percentage` 0–100                          | `percent` (Unleash bucket ≤ percent), no cohorts      |
| `user_group` | `groups` (e.g. `[beta]`), `admins`          | those groups (created if missing); `admins` → staff   |
| `a_b_test`   | `experiment`, `percentage`                  | who takes part in that experiment of ab_tests.yml     |
| `time_based` | `start_time`, `end_time` (ISO, with zone)   | `active_from` / `active_until`, on for everyone       |

A flag the file does not name is left alone; user lists are not managed here (ids are not portable).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.dateparse import parse_datetime

from core.models import User
from rollout.experiments.deployment.sections import (
    Problem,
    Section,
    State,
    expect_mapping,
    expect_number,
    register_section,
    unknown_keys,
)
from rollout.models import Flag, FlagHistory
from rollout.services import flag_create, flag_state, flag_update

TYPES = ["boolean", "percentage", "user_group", "a_b_test", "time_based"]
COMMON = {"description", "type", "metadata"}
FIELDS = {
    "boolean": {"enabled"},
    "percentage": {"percentage"},
    "user_group": {"groups", "admins"},
    "a_b_test": {"experiment", "percentage"},
    "time_based": {"start_time", "end_time"},
}
SOURCE = FlagHistory.Source.IMPORT


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"must be an ISO 8601 date-time with a zone, got {value!r}")
    return parsed.astimezone(UTC)


def _iso(value: Any) -> str | None:
    parsed = _when(value)
    return parsed.isoformat() if parsed else None


def _note(metadata: dict[str, Any]) -> str:
    return " · ".join(f"{key}: {metadata[key]}" for key in sorted(metadata))


def validate(data: Any, context: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    root = expect_mapping(data, "", problems)
    unknown_keys(root, {"version", "flags"}, "", problems)
    flags = expect_mapping(root.get("flags", {}), "flags", problems)
    experiments = set((context.get("ab_testing") or {}).get("ab_tests") or {})
    for name, spec in flags.items():
        path = f"flags.{name}"
        item = expect_mapping(spec, path, problems)
        kind = item.get("type")
        if kind not in TYPES:
            problems.append((f"{path}.type", f"must be one of {', '.join(TYPES)}, got {kind!r}"))
            continue
        unknown_keys(item, COMMON | FIELDS[kind], path, problems)
        expect_number(item, "percentage", path, problems, low=0, high=100, integer=True)
        if kind == "boolean" and not isinstance(item.get("enabled"), bool):
            problems.append((f"{path}.enabled", "a boolean flag needs enabled: true or false"))
        if kind in ("percentage", "a_b_test") and "percentage" not in item:
            problems.append((f"{path}.percentage", f"a {kind} flag needs a percentage"))
        if kind == "user_group":
            groups = item.get("groups", [])
            if not isinstance(groups, list) or not groups or not all(isinstance(g, str) and g for g in groups):
                problems.append((f"{path}.groups", "must be a non-empty list of group (cohort) names"))
        if kind == "a_b_test" and item.get("experiment") not in experiments:
            problems.append((f"{path}.experiment", f"{item.get('experiment')!r} is not a test in ab_tests.yml"))
        if kind == "time_based":
            try:
                start, end = _when(item.get("start_time")), _when(item.get("end_time"))
            except ValueError as exc:
                problems.append((f"{path}.start_time/end_time", str(exc)))
                continue
            if start is None and end is None:
                problems.append((path, "a time_based flag needs start_time and/or end_time"))
            elif start and end and start >= end:
                problems.append((f"{path}.end_time", "must be after start_time"))
        if "metadata" in item and not isinstance(item["metadata"], dict):
            problems.append((f"{path}.metadata", "must be a mapping (component, risk_level, priority, ...)"))
    return problems


def desired(data: Any) -> dict[str, State]:
    result: dict[str, State] = {}
    for name, item in (data.get("flags") or {}).items():
        kind = item["type"]
        state: State = {
            "description": item.get("description", ""),
            "everyone": None,
            "percent": None,
            "staff": False,
            "superusers": False,
            "groups": [],
            "active_from": None,
            "active_until": None,
            "note": _note(item.get("metadata") or {}),
        }
        if kind == "boolean":
            state["everyone"] = True if item["enabled"] else None
        elif kind in ("percentage", "a_b_test"):
            state["percent"] = item["percentage"]
        elif kind == "user_group":
            state["groups"] = sorted(item.get("groups", []))
            state["staff"] = state["superusers"] = bool(item.get("admins", False))
        else:
            state["everyone"] = True
            state["active_from"] = _iso(item.get("start_time"))
            state["active_until"] = _iso(item.get("end_time"))
        result[name] = state
    return result


def _state(flag: Flag) -> State:
    state = {key: value for key, value in flag_state(flag).items() if key != "users"}
    for key in ("active_from", "active_until"):
        state[key] = _iso(state[key])
    return {"description": flag.description, **state}


def export() -> dict[str, State]:
    return {flag.name: _state(flag) for flag in Flag.objects.prefetch_related("groups", "users").order_by("name")}


@transaction.atomic
def apply(name: str, state: State | None, actor: User | None) -> None:
    flag = Flag.objects.filter(name=name).first()
    reason = "deploy: configs/feature_flags.yml"
    if state is None:
        if flag is not None:
            # Rollback of a flag the deployment created: gone again, with a history row saying so.
            FlagHistory.objects.create(
                flag=None, flag_name=name, actor=actor, source=SOURCE, reason="rollback", before=_state(flag), after={}
            )
            flag.delete()
        return
    changes = {key: value for key, value in state.items() if key != "description"}
    for group in changes["groups"]:
        Group.objects.get_or_create(name=group)  # a cohort named in the file exists from now on (empty at first)
    if flag is None:
        flag_create(
            name=name, description=state["description"], changes=changes, actor=actor, source=SOURCE, reason=reason
        )
        return
    if flag.description != state["description"]:
        flag.description = state["description"]
        flag.save(update_fields=["description"])
    flag_update(name=name, changes=changes, actor=actor, source=SOURCE, reason=reason)


register_section(
    Section(
        name="feature_flags",
        action="deploy-feature-flags",
        filename="feature_flags.yml",
        order=10,
        validate=validate,
        desired=desired,
        export=export,
        apply=apply,
    )
)

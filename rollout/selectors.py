"""Read models for the API and the admin: flags with their cohorts, rollouts with their history.

Other apps use the typed reads (``flag_overview_for``, ``flag_changes``: frozen dataclasses); the API
serialises them with ``as_dict()`` (``flags_overview`` is that list of dicts).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Prefetch, Subquery

from rollout.models import Flag, FlagHistory, Rollout, RolloutTransition
from rollout.registry import env_overrides
from rollout.stages import BETA_GROUP


def rollout_summary(rollout: Rollout | None) -> dict[str, Any] | None:
    if rollout is None:
        return None
    return {
        "id": rollout.pk,
        "stage": rollout.current_stage_name,
        "stage_index": rollout.current_index,
        "stages": rollout.stage_names,
        "status": rollout.status,
        "guard_policy": rollout.guard_policy,
        "guard_rules": sorted(rule.name for rule in rollout.guard_rules.all()),
        "guard_consecutive": rollout.guard_consecutive,
        "min_dwell_minutes": rollout.min_dwell_minutes,
        "stage_entered_at": rollout.stage_entered_at,
        "last_gate_results": rollout.last_gate_results,
    }


@dataclass(frozen=True)
class FlagCohorts:
    admin: bool
    beta: bool
    regular: bool  # percent 100


@dataclass(frozen=True)
class FlagWindow:
    active_from: datetime | None
    active_until: datetime | None
    active_now: bool


@dataclass(frozen=True)
class FlagOverview:
    """A flag's state as ops see it. ``rollout`` is the newest rollout's summary (see ``rollout_summary``)."""

    name: str
    description: str
    killed: bool
    everyone: bool | None
    cohorts: FlagCohorts
    percent: int | None
    groups: tuple[str, ...]
    users: int
    window: FlagWindow
    env_override: bool | None
    rollout: dict[str, Any] | None
    modified: datetime

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["groups"] = list(self.groups)
        return data


@dataclass(frozen=True)
class FlagChange:
    """One history row of a flag: who changed what, when and why."""

    at: datetime
    actor: str | None
    source: str
    reason: str
    changed: tuple[str, ...]
    before: dict[str, Any]
    after: dict[str, Any]


def flag_overview(flag: Flag, rollout: Rollout | None, overrides: dict[str, bool]) -> FlagOverview:
    groups = sorted(g.name for g in flag.groups.all())
    now = time.time()
    in_window = not (
        (flag.active_from and now < flag.active_from.timestamp())
        or (flag.active_until and now >= flag.active_until.timestamp())
    )
    percent = flag.percent or 0
    return FlagOverview(
        name=flag.name,
        description=flag.description,
        killed=flag.everyone is False,
        everyone=flag.everyone,
        cohorts=FlagCohorts(
            admin=bool(flag.staff or flag.superusers), beta=BETA_GROUP in groups, regular=percent >= 100
        ),
        percent=flag.percent,
        groups=tuple(groups),
        users=len(flag.users.all()),
        window=FlagWindow(active_from=flag.active_from, active_until=flag.active_until, active_now=bool(in_window)),
        env_override=overrides.get(flag.name),
        rollout=rollout_summary(rollout),
        modified=flag.modified,
    )


def flag_overviews(name: str | None = None) -> list[FlagOverview]:
    """Every flag (or one) with its per-cohort state and newest rollout: a fixed number of queries, whatever
    the number of flags or rollouts."""
    flags = Flag.objects.prefetch_related("groups", "users").order_by("name")
    if name is not None:
        flags = flags.filter(name=name)
    newest = Rollout.objects.filter(flag=OuterRef("flag")).order_by("-created_at", "-id").values("id")[:1]
    rollouts = {
        rollout.flag_id: rollout
        for rollout in Rollout.objects.filter(flag__in=flags, id=Subquery(newest)).prefetch_related("guard_rules")
    }
    overrides = env_overrides()
    return [flag_overview(flag, rollouts.get(flag.pk), overrides) for flag in flags]


def flags_overview(name: str | None = None) -> list[dict[str, Any]]:
    """``flag_overviews`` as JSON-ready dicts (the API's payload)."""
    return [overview.as_dict() for overview in flag_overviews(name)]


def flag_overview_for(name: str) -> FlagOverview | None:
    """One flag's overview, None when no flag has that name."""
    found = flag_overviews(name)
    return found[0] if found else None


def flag_changes(name: str, *, limit: int = 100) -> list[FlagChange]:
    """The flag's newest history rows, newest first."""
    return [
        FlagChange(
            at=h.created_at,
            actor=h.actor.username if h.actor else None,
            source=h.source,
            reason=h.reason,
            changed=tuple(h.changed_fields),
            before=dict(h.before or {}),
            after=dict(h.after or {}),
        )
        for h in flag_history(name, limit=limit)
    ]


def flag_history(name: str, *, limit: int = 100) -> list[FlagHistory]:
    return list(
        FlagHistory.objects.filter(flag_name=name).select_related("actor").order_by("-created_at", "-id")[:limit]
    )


def rollout_detail(rollout: Rollout) -> dict[str, Any]:
    """One rollout with its last 200 transitions (prefetched by ``rollouts_latest``; else two queries)."""
    cached = getattr(rollout, "_prefetched_objects_cache", {})
    if "transitions" in cached:
        transitions = list(rollout.transitions.all())[:200]
    else:
        transitions = list(rollout.transitions.select_related("actor").order_by("-created_at", "-id")[:200])
    return {
        "flag": rollout.flag.name,
        **(rollout_summary(rollout) or {}),
        "plan": rollout.plan,
        "created_at": rollout.created_at,
        "created_by": rollout.created_by_id,
        "transitions": [transition_dict(t) for t in transitions],
    }


def transition_dict(transition: RolloutTransition) -> dict[str, Any]:
    return {
        "id": transition.pk,
        "kind": transition.kind,
        "from": transition.from_stage,
        "to": transition.to_stage,
        "actor": transition.actor.username if transition.actor else None,
        "source": transition.source,
        "reason": transition.reason,
        "blocked": transition.blocked,
        "gate_results": transition.gate_results,
        "duration_ms": transition.duration_ms,
        "details": transition.details,
        "created_at": transition.created_at,
    }


def rollouts_latest() -> list[Rollout]:
    """The newest rollout of every flag, with guard rules and transitions prefetched (four queries)."""
    newest = Rollout.objects.filter(flag=OuterRef("flag")).order_by("-created_at", "-id").values("id")[:1]
    transitions = RolloutTransition.objects.select_related("actor").order_by("-created_at", "-id")
    return list(
        Rollout.objects.filter(id=Subquery(newest))
        .select_related("flag")
        .prefetch_related("guard_rules", Prefetch("transitions", queryset=transitions))
        .order_by("flag__name")
    )


__all__ = [
    "FlagChange",
    "FlagOverview",
    "flag_changes",
    "flag_history",
    "flag_overview_for",
    "flag_overviews",
    "flags_overview",
    "rollout_detail",
    "rollouts_latest",
]

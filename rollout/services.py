"""Writes to flags: every change goes through here and leaves a history row (who, when, before, after, why).

Two rules keep a flag and its rollout in agreement (issue #14):

- **A kill stays killed.** ``everyone = False`` is a kill. Automatic actions (rollout moves, guard rollbacks and
  pauses) set cohorts but never lift a kill; only a person does, explicitly (``flag_kill_lift``, or the toggle
  ``enabled: true``), and the lift is in the history.
- **A manual change pauses the rollout.** ``flag_update`` and ``flag_toggle`` are the manual paths (API, admin,
  commands). When they change a flag whose newest rollout is active or completed, that rollout is paused and the
  pause transition says who changed what and why, so no automatic move overwrites the person's change.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import ConflictError, NotFoundError, ServiceError
from core.models import User
from rollout.models import Flag, FlagHistory, Rollout, RolloutTransition
from rollout.registry import registered_flags
from rollout.stages import BETA_GROUP

logger = logging.getLogger(__name__)

EDITABLE = ("everyone", "percent", "staff", "superusers", "groups", "users", "active_from", "active_until", "note")
USER_TYPES = ("admin", "beta", "regular")
EXPORT_FORMAT = "stamina-flags/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def flag_state(flag: Flag) -> dict[str, Any]:
    """The flag's targeting as plain JSON (what history and exports store)."""
    return {
        "everyone": flag.everyone,
        "percent": flag.percent,
        "staff": flag.staff,
        "superusers": flag.superusers,
        "groups": sorted(flag.groups.values_list("name", flat=True)),
        "users": sorted(flag.users.values_list("pk", flat=True)),
        "active_from": _iso(flag.active_from),
        "active_until": _iso(flag.active_until),
        "note": flag.note,
    }


def _get_for_update(name: str) -> Flag:
    try:
        return Flag.objects.select_for_update().get(name=name)
    except Flag.DoesNotExist as exc:
        raise NotFoundError("flag_not_found", f"No flag named {name!r}.") from exc


def _parse_when(field: str, value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ServiceError("invalid_flag_change", f"{field} must be an ISO 8601 date-time, got {value!r}.")
    if timezone.is_naive(parsed):
        raise ServiceError("invalid_flag_change", f"{field} needs a time zone offset (e.g. 2026-12-01T00:00Z).")
    return parsed


def _validate(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ServiceError("invalid_flag_change", f"Unknown flag fields: {', '.join(sorted(unknown))}.")
    clean = dict(changes)
    if "everyone" in clean and clean["everyone"] not in (True, False, None):
        raise ServiceError("invalid_flag_change", "everyone must be true, false or null.")
    for key in ("staff", "superusers"):
        if key in clean and not isinstance(clean[key], bool):
            raise ServiceError("invalid_flag_change", f"{key} must be true or false.")
    if "percent" in clean and clean["percent"] is not None:
        percent = clean["percent"]
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ServiceError("invalid_flag_change", f"percent must be an integer from 0 to 100, got {percent!r}.")
    for key in ("active_from", "active_until"):
        if key in clean:
            clean[key] = _parse_when(key, clean[key])
    if "groups" in clean:
        names = clean["groups"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ServiceError("invalid_flag_change", "groups must be a list of group names.")
        missing = set(names) - set(Group.objects.filter(name__in=names).values_list("name", flat=True))
        if missing:
            raise ServiceError("invalid_flag_change", f"Unknown groups: {', '.join(sorted(missing))}.")
    if "users" in clean:
        ids = clean["users"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ServiceError("invalid_flag_change", "users must be a list of user ids.")
        missing_ids = set(ids) - set(User.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing_ids:
            raise ServiceError("invalid_flag_change", f"Unknown users: {sorted(missing_ids)}.")
    return clean


def flag_changes_validate(changes: dict[str, Any]) -> dict[str, Any]:
    """Check a targeting change without writing (forms call it to show errors); returns the cleaned values.

    Raises ``ServiceError("invalid_flag_change", ...)`` naming the first bad field.
    """
    clean = _validate(changes)
    start, end = clean.get("active_from"), clean.get("active_until")
    if start and end and start >= end:
        raise ServiceError("invalid_flag_change", "active_from must be before active_until.")
    return clean


def _apply(flag: Flag, changes: dict[str, Any]) -> None:
    for key in ("everyone", "percent", "staff", "superusers", "active_from", "active_until", "note"):
        if key in changes:
            setattr(flag, key, changes[key])
    if flag.active_from and flag.active_until and flag.active_from >= flag.active_until:
        raise ServiceError("invalid_flag_change", "active_from must be before active_until.")
    if flag.everyone is not False:
        flag.pre_kill_everyone = None
    flag.save()
    if "groups" in changes:
        flag.groups.set(Group.objects.filter(name__in=changes["groups"]))
    if "users" in changes:
        flag.users.set(changes["users"])


def _record(
    flag: Flag, before: dict[str, Any], after: dict[str, Any], *, actor: User | None, source: str, reason: str
) -> FlagHistory:
    return FlagHistory.objects.create(
        flag=flag, flag_name=flag.name, actor=actor, source=source, reason=reason, before=before, after=after
    )


@transaction.atomic
def flag_update(
    *,
    name: str,
    changes: dict[str, Any],
    actor: User | None,
    source: str,
    reason: str = "",
    description: str | None = None,
) -> tuple[Flag, FlagHistory | None]:
    """Change a flag's targeting (and its description when given). Returns the flag and its history row (None
    when the targeting did not change)."""
    clean = _validate(changes)
    flag = _get_for_update(name)
    before = flag_state(flag)
    if description is not None and description != flag.description:
        flag.description = description
        flag.save(update_fields=["description"])
    _apply(flag, clean)
    after = flag_state(flag)
    if before == after:
        return flag, None
    history = _record(flag, before, after, actor=actor, source=source, reason=reason)
    rollout_pause_for_manual_change(flag=flag, history=history, actor=actor, source=source, reason=reason)
    return flag, history


@transaction.atomic
def flag_create(
    *, name: str, description: str = "", changes: dict[str, Any], actor: User | None, source: str, reason: str
) -> tuple[Flag, FlagHistory]:
    """Create a flag (off unless ``changes`` target someone) and record its first history row."""
    clean = _validate(changes)
    if Flag.objects.filter(name=name).exists():
        raise ServiceError("flag_exists", f"A flag named {name!r} exists already.")
    flag = Flag.objects.create(name=name, description=description)
    _apply(flag, clean)
    return flag, _record(flag, {}, flag_state(flag), actor=actor, source=source, reason=reason)


@transaction.atomic
def flag_toggle(
    *, name: str, enabled: bool, user_type: str | None = None, actor: User | None, source: str, reason: str = ""
) -> tuple[Flag, FlagHistory | None]:
    """The runbooks' toggle. Without ``user_type``: off kills the flag for everyone (targeting kept), on
    restores it. With ``admin`` / ``beta`` / ``regular``: switch that cohort (regular = percent 100 or 0)."""
    if user_type is not None and user_type not in USER_TYPES:
        raise ServiceError("invalid_user_type", f"user_type must be one of {', '.join(USER_TYPES)}.")
    flag = _get_for_update(name)
    before = flag_state(flag)
    if user_type is None:
        if not enabled and flag.everyone is not False:
            flag.pre_kill_everyone = flag.everyone
            flag.everyone = False
            flag.save()
        elif enabled and flag.everyone is False:  # a person lifting the kill, explicitly
            flag.everyone = flag.pre_kill_everyone
            flag.pre_kill_everyone = None
            flag.save()
    elif user_type == "admin":
        flag.staff = flag.superusers = enabled
        flag.save()
    elif user_type == "beta":
        group, _ = Group.objects.get_or_create(name=BETA_GROUP)
        if enabled:
            flag.groups.add(group)
        else:
            flag.groups.remove(group)
    else:
        flag.percent = 100 if enabled else 0
        flag.save()
    after = flag_state(flag)
    if before == after:
        return flag, None
    history = _record(flag, before, after, actor=actor, source=source, reason=reason)
    rollout_pause_for_manual_change(flag=flag, history=history, actor=actor, source=source, reason=reason)
    return flag, history


@transaction.atomic
def flag_kill_lift(*, name: str, actor: User | None, source: str, reason: str) -> tuple[Flag, FlagHistory]:
    """Lift a kill (a person's explicit act, with a reason): the flag answers by its targeting again. The
    rollout the kill paused stays paused until a person resumes it."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("reason_required", "Lifting a kill needs a reason (it is kept in the history).")
    flag = _get_for_update(name)
    if flag.everyone is not False:
        raise ConflictError("not_killed", f"Flag {name!r} is not killed.")
    before = flag_state(flag)
    flag.everyone = flag.pre_kill_everyone
    flag.pre_kill_everyone = None
    flag.save()
    return flag, _record(flag, before, flag_state(flag), actor=actor, source=source, reason=f"kill lifted: {reason}")


def rollout_pause_for_manual_change(
    *, flag: Flag, history: FlagHistory, actor: User | None, source: str, reason: str
) -> Rollout | None:
    """Pause the flag's active or completed rollout because a person changed the flag by hand; the pause
    transition names who, what changed and why. Returns the paused rollout (None when there was none)."""
    rollout = (
        Rollout.objects.select_for_update()
        .filter(flag=flag, status__in=[Rollout.Status.ACTIVE, Rollout.Status.COMPLETED])
        .order_by("-created_at", "-id")
        .first()
    )
    if rollout is None:
        return None
    was = rollout.status
    rollout.status = Rollout.Status.PAUSED
    rollout.save(update_fields=["status"])
    changed = history.changed_fields
    RolloutTransition.objects.create(
        rollout=rollout,
        kind=RolloutTransition.Kind.PAUSE,
        from_stage=rollout.current_stage_name,
        to_stage=rollout.current_stage_name,
        actor=actor,
        source=source[:16],
        reason=f"manual flag change ({', '.join(changed)}): {reason or 'no reason given'}",
        details={"cause": "manual_flag_change", "flag_history_id": history.pk, "changed": changed, "was": was},
    )
    logger.warning("rollout of %s paused: %s changed %s by hand", flag.name, actor or source, ", ".join(changed))
    return rollout


def apply_stage_state(
    *, flag: Flag, admin: bool, beta: bool, percent: int, actor: User | None, source: str, reason: str
) -> FlagHistory | None:
    """Set the flag to a rollout stage's cohorts. A killed flag stays killed (its targeting changes underneath,
    so that lifting the kill gives this stage); only ``flag_kill_lift`` lifts it. Caller holds the transaction."""
    before = flag_state(flag)
    if flag.everyone is not False:
        flag.everyone = None
    flag.pre_kill_everyone = None
    flag.staff = flag.superusers = admin
    flag.percent = percent
    flag.save()
    group, _ = Group.objects.get_or_create(name=BETA_GROUP)
    if beta:
        flag.groups.add(group)
    else:
        flag.groups.remove(group)
    after = flag_state(flag)
    if before == after:
        return None
    return _record(flag, before, after, actor=actor, source=source, reason=reason)


def flag_kill(*, flag: Flag, actor: User | None, source: str, reason: str) -> FlagHistory | None:
    """Off for everyone, targeting kept. Caller holds the transaction."""
    before = flag_state(flag)
    if flag.everyone is not False:
        flag.pre_kill_everyone = flag.everyone
        flag.everyone = False
        flag.save()
    after = flag_state(flag)
    return None if before == after else _record(flag, before, after, actor=actor, source=source, reason=reason)


@transaction.atomic
def flags_sync_registered() -> list[str]:
    """Create registered flags that are missing, with their defaults; existing flags are left alone."""
    created: list[str] = []
    for spec in registered_flags():
        flag, was_created = Flag.objects.get_or_create(
            name=spec.name,
            defaults={"everyone": True if spec.default_on else None, "description": spec.description},
        )
        if was_created:
            created.append(spec.name)
            _record(flag, {}, flag_state(flag), actor=None, source=FlagHistory.Source.REGISTRY, reason="registered")
    return created


# --- export / import ---------------------------------------------------------------------------------------


def flags_export_data() -> dict[str, Any]:
    flags = Flag.objects.prefetch_related("groups", "users").order_by("name")
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "flags": [{"name": f.name, "description": f.description, **flag_state(f)} for f in flags],
    }


def flags_export(*, path: Path) -> int:
    """Write every flag to ``path`` as JSON; return how many."""
    data = flags_export_data()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)
    return len(data["flags"])


def _read_import(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ServiceError("import_unreadable", f"Cannot read {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise ServiceError("import_invalid", f"{path} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT or not isinstance(data.get("flags"), list):
        raise ServiceError("import_invalid", f"{path} is not a flags export (format {EXPORT_FORMAT}).")
    entries = data["flags"]
    names = [e.get("name") for e in entries if isinstance(e, dict)]
    if len(names) != len(entries) or not all(isinstance(n, str) and n for n in names):
        raise ServiceError("import_invalid", "Every flag in the file needs a name.")
    if len(set(names)) != len(names):
        raise ServiceError("import_invalid", "The file names a flag twice.")
    return entries


def flags_import(
    *, path: Path, actor: User | None, dry_run: bool = False, backup_dir: Path | None = None
) -> dict[str, Any]:
    """Import flags from an export, all or nothing. A backup export is written first (unless dry run).

    Returns ``{"created": [...], "updated": [...], "unchanged": [...], "backup": path | None}``.
    """
    entries = _read_import(path)
    backup: Path | None = None
    if not dry_run:
        folder = backup_dir or path.parent
        backup = folder / f"flags-backup-{timezone.now():%Y%m%dT%H%M%S%f}.json"
        flags_export(path=backup)
    report: dict[str, Any] = {"created": [], "updated": [], "unchanged": [], "backup": str(backup) if backup else None}
    with transaction.atomic():
        for entry in entries:
            changes = {key: entry[key] for key in EDITABLE if key in entry}
            name = entry["name"]
            try:
                clean = _validate(changes)
            except ServiceError as exc:
                raise ServiceError(exc.code, f"flag {name!r}: {exc.message}") from exc
            flag = Flag.objects.select_for_update().filter(name=name).first()
            if flag is None:
                flag = Flag.objects.create(name=name, description=entry.get("description", ""))
                before: dict[str, Any] = {}
                report["created"].append(name)
            else:
                before = flag_state(flag)
            _apply(flag, clean)
            after = flag_state(flag)
            if before and before == after:
                report["unchanged"].append(name)
                continue
            if before:
                report["updated"].append(name)
            history = _record(
                flag, before, after, actor=actor, source=FlagHistory.Source.IMPORT, reason=f"import {path.name}"
            )
            if before:  # an imported change to an existing flag is a manual change too
                rollout_pause_for_manual_change(
                    flag=flag, history=history, actor=actor, source=FlagHistory.Source.IMPORT, reason=history.reason
                )
        if dry_run:
            transaction.set_rollback(True)
    return report

"""Flag evaluation: the public face other apps use.

    evaluate(name, *, user=None, user_id=None, at=None) -> (enabled, reason)
    is_feature_enabled(name, user_id) -> bool
    bucket(name, user_id) -> 1..100

Evaluation reads an in-process snapshot of every flag (targeting, cohort membership, staff ids), so a call
costs no query. Each process re-checks a version token at most every ``FLAGS_REFRESH_SECONDS`` — from the
cache when it is shared (Redis), else from the database — and rebuilds the snapshot when the token changed.
When the cache is down it reads the database; when the database is down too it keeps the last snapshot (or
the last one written to ``var/flags-snapshot.json`` by any process) and logs the fault. It never raises.

The order of rules and the reasons are rollout.md's: missing, (env_override), killed, outside_window,
everyone, user, staff, superuser, group:<name>, percent, default.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache as _django_cache
from django.db.models import Q

from core.models import User
from rollout.hashing import bucket as _bucket
from rollout.models import Flag, FlagsVersion
from rollout.registry import env_overrides

logger = logging.getLogger(__name__)

VERSION_CACHE_KEY = "rollout:flags:version"
CACHE_RETRY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class CompiledFlag:
    name: str
    everyone: bool | None
    active_from: float | None
    active_until: float | None
    user_ids: frozenset[int]
    staff: bool
    superusers: bool
    groups: tuple[tuple[str, frozenset[int]], ...]
    percent: int | None


@dataclass(frozen=True)
class Snapshot:
    token: str
    flags: dict[str, CompiledFlag]
    staff_ids: frozenset[int]
    superuser_ids: frozenset[int]
    overrides: dict[str, bool]
    source: str = "database"
    built_at: float = field(default_factory=time.time)


EMPTY = Snapshot(token="", flags={}, staff_ids=frozenset(), superuser_ids=frozenset(), overrides={}, source="empty")


class _State:
    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None
        self.next_check = 0.0
        self.cache_down_until = 0.0
        self.lock = threading.Lock()
        self.missing_logged: set[str] = set()


_state = _State()


def _refresh_seconds() -> float:
    return float(getattr(settings, "FLAGS_REFRESH_SECONDS", 1.0))


def _snapshot_file() -> Path:
    return Path(settings.VAR_DIR) / "flags-snapshot.json"


def _shared_cache() -> Any | None:
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return None  # per-process: useless for cross-process invalidation
    return _django_cache


def _read_token() -> str | None:
    """The current version token: cache first (when shared and healthy), else the database, else None."""
    cache = _shared_cache()
    now = time.monotonic()
    if cache is not None and now >= _state.cache_down_until:
        try:
            token = cache.get(VERSION_CACHE_KEY)
            if token is not None:
                return str(token)
        except Exception:
            _state.cache_down_until = now + CACHE_RETRY_SECONDS
            logger.warning("flag cache unreachable; reading flag versions from the database", exc_info=True)
    try:
        row = FlagsVersion.objects.filter(pk=1).values_list("version", "changed_at").first()
    except Exception:
        logger.error("flag version unreadable from the database; keeping the last snapshot", exc_info=True)
        return None
    token = f"{row[0]}:{row[1].timestamp()}" if row else "0"
    if cache is not None and now >= _state.cache_down_until:
        try:
            # add (not set), short-lived: a reader that saw the old token just before a change committed can
            # only re-publish it briefly, never overwrite a newer one
            cache.add(VERSION_CACHE_KEY, token, timeout=2)
        except Exception:
            _state.cache_down_until = now + CACHE_RETRY_SECONDS
    return token


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def build_snapshot(token: str) -> Snapshot:
    """Read every flag and the cohort memberships it needs (four queries)."""
    flag_model: Any = Flag
    user_model = flag_model.users.through
    group_model = flag_model.groups.through
    membership = User.groups.through
    flag_users: dict[int, set[int]] = {}
    for flag_id, user_id in user_model.objects.values_list("flag_id", "user_id"):
        flag_users.setdefault(flag_id, set()).add(user_id)
    flag_groups: dict[int, list[tuple[int, str]]] = {}
    for flag_id, group_id, group_name in group_model.objects.values_list("flag_id", "group_id", "group__name"):
        flag_groups.setdefault(flag_id, []).append((group_id, group_name))
    group_ids = {gid for pairs in flag_groups.values() for gid, _ in pairs}
    members: dict[int, set[int]] = {}
    for group_id, user_id in membership.objects.filter(group_id__in=group_ids).values_list("group_id", "user_id"):
        members.setdefault(group_id, set()).add(user_id)
    staff_ids: set[int] = set()
    superuser_ids: set[int] = set()
    for user_id, is_staff, is_superuser, role in User.objects.filter(
        Q(is_staff=True) | Q(is_superuser=True) | Q(role="staff"), is_active=True
    ).values_list("pk", "is_staff", "is_superuser", "role"):
        if is_staff or role == "staff":
            staff_ids.add(user_id)
        if is_superuser:
            superuser_ids.add(user_id)
    compiled: dict[str, CompiledFlag] = {}
    for row in flag_model.objects.values(
        "pk", "name", "everyone", "active_from", "active_until", "staff", "superusers", "percent"
    ):
        groups = tuple(sorted((name, frozenset(members.get(gid, ()))) for gid, name in flag_groups.get(row["pk"], [])))
        compiled[row["name"]] = CompiledFlag(
            name=row["name"],
            everyone=row["everyone"],
            active_from=_epoch(row["active_from"]),
            active_until=_epoch(row["active_until"]),
            user_ids=frozenset(flag_users.get(row["pk"], ())),
            staff=row["staff"],
            superusers=row["superusers"],
            groups=groups,
            percent=row["percent"],
        )
    return Snapshot(
        token=token,
        flags=compiled,
        staff_ids=frozenset(staff_ids),
        superuser_ids=frozenset(superuser_ids),
        overrides=env_overrides(),
    )


def _write_file(snapshot: Snapshot) -> None:
    data = {
        "token": snapshot.token,
        "built_at": snapshot.built_at,
        "staff_ids": sorted(snapshot.staff_ids),
        "superuser_ids": sorted(snapshot.superuser_ids),
        "flags": [
            {
                "name": f.name,
                "everyone": f.everyone,
                "active_from": f.active_from,
                "active_until": f.active_until,
                "user_ids": sorted(f.user_ids),
                "staff": f.staff,
                "superusers": f.superusers,
                "groups": [[name, sorted(ids)] for name, ids in f.groups],
                "percent": f.percent,
            }
            for f in snapshot.flags.values()
        ],
    }
    path = _snapshot_file()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        logger.warning("could not write the flag snapshot file %s", path, exc_info=True)


def _load_file() -> Snapshot | None:
    try:
        data = json.loads(_snapshot_file().read_text())
        flags = {
            f["name"]: CompiledFlag(
                name=f["name"],
                everyone=f["everyone"],
                active_from=f["active_from"],
                active_until=f["active_until"],
                user_ids=frozenset(f["user_ids"]),
                staff=f["staff"],
                superusers=f["superusers"],
                groups=tuple((name, frozenset(ids)) for name, ids in f["groups"]),
                percent=f["percent"],
            )
            for f in data["flags"]
        }
        return Snapshot(
            token="file:" + str(data["token"]),
            flags=flags,
            staff_ids=frozenset(data["staff_ids"]),
            superuser_ids=frozenset(data["superuser_ids"]),
            overrides=env_overrides(),
            source="file",
            built_at=float(data["built_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _refresh(now: float) -> Snapshot:
    with _state.lock:
        current = _state.snapshot
        if current is not None and now < _state.next_check:
            return current
        _state.next_check = now + _refresh_seconds()
        token = _read_token()
        if current is not None and (token is None or token == current.token):
            return current
        try:
            fresh = build_snapshot(token or "unknown")
        except Exception:
            logger.error("flags could not be read from the database; using the last snapshot", exc_info=True)
            fresh = current or _load_file() or EMPTY
        else:
            if token is not None:
                _write_file(fresh)
        _state.snapshot = fresh
        return fresh


def current_snapshot() -> Snapshot:
    snapshot = _state.snapshot
    if snapshot is not None and time.monotonic() < _state.next_check:
        return snapshot
    return _refresh(time.monotonic())


def invalidate_local() -> None:
    """Make this process re-check the version on its next evaluation (after a local change)."""
    _state.next_check = 0.0


def reset() -> None:
    """Forget the snapshot entirely (tests, and after a fork)."""
    with _state.lock:
        _state.snapshot = None
        _state.next_check = 0.0
        _state.cache_down_until = 0.0
        _state.missing_logged.clear()


def evaluate(
    name: str, *, user: Any = None, user_id: int | None = None, at: datetime | None = None
) -> tuple[bool, str]:
    """Whether ``name`` is on for the user (object or id) at ``at`` (default now), and why."""
    snapshot = current_snapshot()
    override = snapshot.overrides.get(name)
    if override is not None:
        return override, "env_override"
    flag = snapshot.flags.get(name)
    if flag is None:
        if name not in _state.missing_logged:
            _state.missing_logged.add(name)
            logger.warning("flag %r is not defined; answering off", name)
        return False, "missing"
    if flag.everyone is False:
        return False, "killed"
    if flag.active_from is not None or flag.active_until is not None:
        moment = at.timestamp() if at is not None else time.time()
        if (flag.active_from is not None and moment < flag.active_from) or (
            flag.active_until is not None and moment >= flag.active_until
        ):
            return False, "outside_window"
    if flag.everyone:
        return True, "everyone"
    if user is not None:
        if not getattr(user, "is_authenticated", False):
            return False, "default"
        uid = user.pk
    else:
        uid = user_id
    if uid is None:
        return False, "default"
    if uid in flag.user_ids:
        return True, "user"
    if flag.staff:
        is_staff = (user.is_staff or user.role == "staff") if user is not None else uid in snapshot.staff_ids
        if is_staff:
            return True, "staff"
    if flag.superusers:
        is_superuser = user.is_superuser if user is not None else uid in snapshot.superuser_ids
        if is_superuser:
            return True, "superuser"
    for group_name, member_ids in flag.groups:
        if uid in member_ids:
            return True, f"group:{group_name}"
    if flag.percent and _bucket(name, uid) <= flag.percent:
        return True, "percent"
    return False, "default"


def is_feature_enabled(name: str, user_id: int | None) -> bool:
    """The runbooks' call: is ``name`` on for the user with this id?"""
    return evaluate(name, user_id=user_id)[0]


def bucket(name: str, user_id: int | str) -> int:
    """The user's Unleash-compatible bucket for ``name`` (1..100)."""
    return _bucket(name, user_id)


def evaluate_for_request(request: Any, name: str) -> tuple[bool, str]:
    """``evaluate`` for the request's user, memoised on the request (works for Django and DRF requests)."""
    http_request = getattr(request, "_request", request)
    memo: dict[str, tuple[bool, str]] | None = getattr(http_request, "_stamina_flags", None)
    if memo is None:
        memo = {}
        http_request._stamina_flags = memo
    answer = memo.get(name)
    if answer is None:
        answer = evaluate(name, user=getattr(request, "user", None))
        memo[name] = answer
    return answer


def flag_is_on(request: Any, name: str) -> bool:
    return evaluate_for_request(request, name)[0]

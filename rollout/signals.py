"""Snapshot invalidation: any change to flags or to the cohorts they target bumps the version token.

This is cache invalidation, not business logic: the writes themselves go through services.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

from core.models import User
from rollout import flags
from rollout.models import Flag, FlagsVersion

logger = logging.getLogger(__name__)


def flags_bump_version() -> None:
    """Advance the version token; every process rebuilds its snapshot on its next check."""
    updated = FlagsVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now())
    if not updated:
        FlagsVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    _forget_cached_token()
    flags.invalidate_local()
    transaction.on_commit(_after_commit)


def _after_commit() -> None:
    _forget_cached_token()
    flags.invalidate_local()


def _forget_cached_token() -> None:
    cache = flags._shared_cache()
    if cache is None:
        return
    try:
        cache.delete(flags.VERSION_CACHE_KEY)
    except Exception:
        logger.warning("could not clear the cached flag version (cache down?)", exc_info=True)


def on_flag_saved(sender: Any, **kwargs: Any) -> None:
    flags_bump_version()


def on_membership_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        flags_bump_version()


def on_user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """Bump when the user's staff/superuser standing may differ from what every process's snapshot knows."""
    if update_fields is not None and not {"is_staff", "is_superuser", "role", "is_active"} & set(update_fields):
        return  # e.g. a login updating last_login
    is_staff = bool(instance.is_active and (instance.is_staff or getattr(instance, "role", "") == "staff"))
    is_superuser = bool(instance.is_active and instance.is_superuser)
    snapshot = flags._state.snapshot
    if snapshot is None:
        # this process cannot compare; other processes may hold a stale view of this user
        if created and not (is_staff or is_superuser):
            return
        flags_bump_version()
        return
    if (instance.pk in snapshot.staff_ids) != is_staff or (instance.pk in snapshot.superuser_ids) != is_superuser:
        flags_bump_version()


def connect() -> None:
    post_save.connect(on_flag_saved, sender=Flag, dispatch_uid="rollout.flag_saved")
    post_delete.connect(on_flag_saved, sender=Flag, dispatch_uid="rollout.flag_deleted")
    post_delete.connect(on_flag_saved, sender=Group, dispatch_uid="rollout.group_deleted")
    m2m_changed.connect(on_membership_changed, sender=Flag.users.through, dispatch_uid="rollout.flag_users")
    m2m_changed.connect(on_membership_changed, sender=Flag.groups.through, dispatch_uid="rollout.flag_groups")
    m2m_changed.connect(on_membership_changed, sender=User.groups.through, dispatch_uid="rollout.user_groups")
    post_save.connect(on_user_saved, sender=User, dispatch_uid="rollout.user_saved")

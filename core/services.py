"""Core's writes: API tokens (create, revoke, purge) and the current user's profile.

Views, commands and tasks call these; each runs in one transaction.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from core.models import User

logger = logging.getLogger(__name__)
PROFILE_FIELDS = ("first_name", "last_name", "email", "timezone")


def token_create(*, user: User, ttl_hours: int | None = None) -> tuple[AuthToken, str]:
    """Create a token for ``user``; return the row and the plain token (shown once, never stored).

    ``ttl_hours`` None uses the default ``API_TOKEN_TTL_HOURS``; 0 makes a token that never expires.
    """
    if ttl_hours is None:
        return AuthToken.objects.create(user=user)
    expiry = timedelta(hours=ttl_hours) if ttl_hours > 0 else None
    return AuthToken.objects.create(user=user, expiry=expiry)


@transaction.atomic
def token_revoke(*, token: AuthToken) -> None:
    """Revoke one token (logout): its row is deleted, so the next request with it answers 401."""
    AuthToken.objects.filter(pk=token.pk).delete()


@transaction.atomic
def token_revoke_all(*, user: User) -> int:
    """Revoke every token of ``user``; return how many were revoked."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def tokens_revoke(*, user_ids: list[int] | None, actor: User | None, reason: str) -> int:
    """Revoke every token of ``user_ids`` (``None``: of everyone, the incident switch); return how many.
    Logged with the actor and the reason (admin action "Revoke all API tokens", ``manage.py revoke_tokens``)."""
    with transaction.atomic():
        tokens = AuthToken.objects.all() if user_ids is None else AuthToken.objects.filter(user_id__in=user_ids)
        deleted, _ = tokens.delete()
    scope = "every user" if user_ids is None else f"{len(user_ids)} user(s)"
    who = actor.username if actor is not None else "system"
    logger.warning("revoked %d API token(s) of %s by %s: %s", deleted, scope, who, reason)
    return deleted


@transaction.atomic
def tokens_purge_expired() -> int:
    """Delete expired tokens; return how many."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    timezone: str | None = None,
) -> User:
    """Change the given profile fields of ``user`` (already validated by the caller's serializer)."""
    values = {"first_name": first_name, "last_name": last_name, "email": email, "timezone": timezone}
    changed = [field for field, value in values.items() if value is not None and getattr(user, field) != value]
    for field in changed:
        setattr(user, field, values[field])
    if changed:
        user.save(update_fields=changed)
    return user

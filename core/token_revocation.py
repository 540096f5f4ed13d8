"""Revoking API tokens: on every password change, and in bulk for incidents (admin action, command).

A password change revokes the user's tokens whatever path changed it (the admin's password form,
``changepassword``, ``set_password`` in a service): Django's user keeps the new raw password in ``_password``
until the save completes, so the ``post_save`` receiver below sees exactly the saves that changed it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from knox.models import AuthToken

from core.api.authentication import token_revoke_all
from core.models import User

logger = logging.getLogger(__name__)


def tokens_revoke(*, user_ids: list[int] | None, actor: User | None, reason: str) -> int:
    """Revoke every token of ``user_ids`` (``None``: of everyone, the incident switch); return how many."""
    with transaction.atomic():
        tokens = AuthToken.objects.all() if user_ids is None else AuthToken.objects.filter(user_id__in=user_ids)
        deleted, _ = tokens.delete()
    scope = "every user" if user_ids is None else f"{len(user_ids)} user(s)"
    logger.warning(
        "revoked %d API token(s) of %s by %s: %s", deleted, scope, getattr(actor, "username", "system"), reason
    )
    return deleted


def _revoke_on_password_change(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    if created or getattr(instance, "_password", None) is None:
        return
    revoked = token_revoke_all(user=instance)
    if revoked:
        logger.info("password of user %s changed: revoked %d API token(s)", instance.pk, revoked)


def connect() -> None:
    """Called from ``CoreConfig.ready``."""
    post_save.connect(_revoke_on_password_change, sender=User, dispatch_uid="core.revoke_tokens_on_password")

"""Every password change revokes the user's API tokens (bulk revocation for incidents: ``core.services``).

A password change revokes the user's tokens whatever path changed it (the admin's password form,
``changepassword``, ``set_password`` in a service): Django's user keeps the new raw password in ``_password``
until the save completes, so the ``post_save`` receiver below sees exactly the saves that changed it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models.signals import post_save

from core.models import User
from core.services import token_revoke_all

logger = logging.getLogger(__name__)


def _revoke_on_password_change(sender: type[User], instance: User, created: bool, **kwargs: Any) -> None:
    if created or getattr(instance, "_password", None) is None:
        return
    revoked = token_revoke_all(user=instance)
    if revoked:
        logger.info("password of user %s changed: revoked %d API token(s)", instance.pk, revoked)


def connect() -> None:
    """Called from ``CoreConfig.ready``."""
    post_save.connect(_revoke_on_password_change, sender=User, dispatch_uid="core.revoke_tokens_on_password")

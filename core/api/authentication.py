"""``Authorization: Bearer <token>`` with hashed, expiring, revocable tokens (django-rest-knox)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.signals import token_expired

# The token writes live in core.services; these names stay importable from here for existing callers.
from core.services import token_create, token_revoke_all, tokens_purge_expired

__all__ = ["BearerTokenAuthentication", "BearerTokenScheme", "token_create", "token_revoke_all", "tokens_purge_expired"]


class BearerTokenAuthentication(TokenAuthentication):
    """Knox's token authentication with the ``Bearer`` prefix (set in ``REST_KNOX``).

    Knox stores only a SHA-512 digest of each token; an expired token is deleted on first use and answered
    with 401; deleting the row revokes it.

    Knox's own check also lists every token of the user on every request to delete their expired ones (one
    more query per authenticated request). Here only the presented token's expiry is checked; the user's other
    expired tokens are deleted by the beat entry "core: purge expired API tokens" (``tokens_purge_expired``).
    """

    def _cleanup_token(self, auth_token: Any) -> bool:
        """True (and the row deleted, ``token_expired`` sent) when the presented token has expired."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[misc]
    """Documents the Bearer scheme in the OpenAPI schema."""

    target_class = "core.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from create_api_token or /api/v1/auth/token",
        }

"""``Authorization: Bearer <token>`` with hashed, expiring, revocable tokens (django-rest-knox)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication

# The token writes live in core.services; these names stay importable from here for existing callers.
from core.services import token_create, token_revoke_all, tokens_purge_expired

__all__ = ["BearerTokenAuthentication", "BearerTokenScheme", "token_create", "token_revoke_all", "tokens_purge_expired"]


class BearerTokenAuthentication(TokenAuthentication):
    """Knox's token authentication with the ``Bearer`` prefix (set in ``REST_KNOX``).

    Knox stores only a SHA-512 digest of each token; an expired token is deleted on first use and answered
    with 401; deleting the row revokes it.
    """


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

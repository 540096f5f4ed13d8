"""``Authorization: Bearer <token>`` with hashed, expiring, revocable tokens (django-rest-knox)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.models import AuthToken

from core.models import User


class BearerTokenAuthentication(TokenAuthentication):
    """Knox's token authentication with the ``Bearer`` prefix (set in ``REST_KNOX``).

    Knox stores only a SHA-512 digest of each token; an expired token is deleted on first use and answered
    with 401; deleting the row revokes it.
    """


def token_create(*, user: User, ttl_hours: int | None = None) -> tuple[AuthToken, str]:
    """Create a token for ``user``; return the row and the plain token (shown once, never stored).

    ``ttl_hours`` None uses the default ``API_TOKEN_TTL_HOURS``; 0 makes a token that never expires.
    """
    if ttl_hours is None:
        return AuthToken.objects.create(user=user)
    expiry = timedelta(hours=ttl_hours) if ttl_hours > 0 else None
    return AuthToken.objects.create(user=user, expiry=expiry)


def token_revoke_all(*, user: User) -> int:
    """Revoke every token of ``user``; return how many were revoked."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def tokens_purge_expired() -> int:
    deleted, _ = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted


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

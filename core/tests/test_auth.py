"""Bearer tokens: valid, expired, revoked, missing, malformed; the token endpoint and command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from core.services import token_create

pytestmark = pytest.mark.django_db


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_valid_bearer_token_authenticates(make_user: Any) -> None:
    user = make_user()
    _, token = token_create(user=user)
    response = _client(token).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_token_is_stored_hashed(make_user: Any) -> None:
    _, token = token_create(user=make_user())
    row = AuthToken.objects.get()
    assert token not in (row.digest, row.token_key)
    assert len(row.digest) == 128  # SHA-512 hex


def test_expired_token_is_rejected(make_user: Any) -> None:
    instance, token = token_create(user=make_user())
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    response = _client(token).get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_revoked_token_is_rejected(make_user: Any) -> None:
    _, token = token_create(user=make_user())
    client = _client(token)
    assert client.post("/api/v1/auth/logout").status_code == 204
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_missing_token_answers_401_with_bearer_challenge() -> None:
    response = APIClient().get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_wrong_token_is_rejected(make_user: Any) -> None:
    token_create(user=make_user())
    response = _client("f" * 64).get("/api/v1/me")
    assert response.status_code == 401


def test_token_endpoint_issues_token_for_right_password(make_user: Any) -> None:
    user = make_user()
    response = APIClient().post("/api/v1/auth/token", {"username": user.username, "password": "pw"}, format="json")
    assert response.status_code == 201
    assert _client(response.json()["token"]).get("/api/v1/me").json()["id"] == user.pk


def test_token_endpoint_rejects_wrong_password(make_user: Any) -> None:
    user = make_user()
    response = APIClient().post("/api/v1/auth/token", {"username": user.username, "password": "no"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert AuthToken.objects.count() == 0


def test_create_api_token_command_prints_a_working_token(make_user: Any) -> None:
    user = make_user()
    out, err = StringIO(), StringIO()
    call_command("create_api_token", user.username, stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert _client(token).get("/api/v1/me").status_code == 200
    assert "not shown again" in err.getvalue()


def test_create_api_token_command_unknown_user_fails() -> None:
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_api_token", "nobody")
    assert AuthToken.objects.count() == 0


def test_a_request_checks_only_the_presented_tokens_expiry(make_user: Any) -> None:
    """One query authenticates (token + user); another expired token of the user waits for the purge task."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.api.authentication import BearerTokenAuthentication
    from core.services import tokens_purge_expired

    user = make_user()
    old, _ = token_create(user=user)
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    _, token = token_create(user=user)
    with CaptureQueriesContext(connection) as queries:
        authenticated, _ = BearerTokenAuthentication().authenticate_credentials(token.encode())
    assert authenticated == user
    assert len(queries) == 1
    assert AuthToken.objects.filter(pk=old.pk).exists()
    assert tokens_purge_expired() == 1


def test_expired_token_is_deleted_when_presented(make_user: Any) -> None:
    instance, token = token_create(user=make_user())
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert _client(token).get("/api/v1/me").status_code == 401
    assert not AuthToken.objects.filter(pk=instance.pk).exists()

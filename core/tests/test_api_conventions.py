"""The error shape everywhere under /api/, pagination, throttling, the OpenAPI schema and docs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_unknown_api_path_is_json_404(client_for: Any, make_user: Any) -> None:
    response = client_for(make_user()).get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    _assert_error_shape(response.json(), "not_found")


def test_unknown_api_path_is_json_404_even_anonymous() -> None:
    response = APIClient().get("/api/nothing/here")
    assert response.status_code == 404
    _assert_error_shape(response.json(), "not_found")


def test_validation_errors_use_the_shape(client_for: Any, make_user: Any) -> None:
    response = client_for(make_user()).patch("/api/v1/me", {"timezone": "Mars/Olympus"}, format="json")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "validation_error")
    assert "timezone" in body["error"]["details"]


def test_malformed_json_is_a_parse_error(client_for: Any, make_user: Any) -> None:
    response = client_for(make_user()).generic("PATCH", "/api/v1/me", "{not json", content_type="application/json")
    assert response.status_code == 400
    _assert_error_shape(response.json(), "parse_error")


def test_method_not_allowed_uses_the_shape(client_for: Any, make_user: Any) -> None:
    response = client_for(make_user()).delete("/api/v1/me")
    assert response.status_code == 405
    _assert_error_shape(response.json(), "method_not_allowed")


def test_unauthenticated_uses_the_shape() -> None:
    response = APIClient().get("/api/v1/athletes")
    assert response.status_code == 401
    _assert_error_shape(response.json(), "not_authenticated")


def test_list_is_paginated(client_for: Any, make_user: Any) -> None:
    staff = make_user("staff", staff=True)
    for _ in range(5):
        make_user()
    body = client_for(staff).get("/api/v1/athletes?page_size=2").json()
    assert body["count"] == 6
    assert len(body["results"]) == 2
    assert body["next"]


def test_throttling_answers_429_with_the_shape(
    client_for: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    client = client_for(make_user())
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "3/min", "login": "9/min"})
    responses = [client.get("/api/v1/me") for _ in range(4)]
    cache.clear()
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    _assert_error_shape(responses[3].json(), "throttled")
    assert responses[3].json()["error"]["details"]["wait_seconds"] > 0


def test_server_errors_under_api_are_json(client_for: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import views

    def explode(self: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MeView, "get_object", explode)
    client = client_for(make_user())
    client.raise_request_exception = False
    response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 500
    _assert_error_shape(response.json(), "server_error")
    assert response.json()["error"]["details"]["request_id"] == "req-123"


def test_openapi_schema_and_docs_are_public_and_local() -> None:
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/me" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_request_id_is_echoed(client_for: Any, make_user: Any) -> None:
    response = client_for(make_user()).get("/api/v1/me", HTTP_X_REQUEST_ID="abc-1")
    assert response["X-Request-ID"] == "abc-1"
    generated = client_for(make_user()).get("/api/v1/me", HTTP_X_REQUEST_ID="bad id with spaces")
    assert generated["X-Request-ID"] != "bad id with spaces" and len(generated["X-Request-ID"]) == 32

"""Hardening through the API: bounded JSON, throttles that hold behind and without proxies, token revocation,
the error shape for an unavailable database, hidden internal jobs and typed schema fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client, override_settings
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from core.body_limits import BodyLimits, BodyLimitWSGI
from core.jobs import job_enqueue
from core.models import Job
from core.services import token_create
from core.tests.api_surface import openapi_schema

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_throttle_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def test_json_nested_a_thousand_deep_is_a_400_not_a_500() -> None:
    body = "[" * 1000 + "]" * 1000
    response = APIClient().post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert "nested" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "text", ['{"username": "a\\u0000", "password": "x"}', '{"username": "\\ud800", "password": "x"}']
)
def test_nul_and_lone_surrogates_are_refused_in_any_json_body(text: str) -> None:
    response = APIClient().post("/api/v1/auth/token", text, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize(
    "variants", ['{"exp\\u0000": "a"}', '{"exp": "a\\u0000"}', '{"\\udc80": "a"}', '{"exp": "\\ud83d"}']
)
def test_feedback_variants_with_nul_or_lone_surrogates_are_a_400(
    variants: str, make_user: Any, client_for: Any
) -> None:
    client = client_for(make_user("athlete"))
    body = '{"type": "general_feedback", "message": "hello", "variants": ' + variants + "}"
    response = client.post("/api/feedback/submit", body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_a_valid_surrogate_pair_is_an_ordinary_character(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("athlete"))
    body = '{"type": "general_feedback", "message": "great \\ud83d\\ude00", "variants": {"exp": "b"}}'
    assert client.post("/api/feedback/submit", body, content_type="application/json").status_code == 201


@pytest.mark.parametrize("value", ["1e400", "-1e400"])
def test_json_numbers_that_overflow_are_a_400(value: str) -> None:
    body = '{"username": "a", "password": "b", "x": ' + value + "}"
    response = APIClient().post("/api/v1/auth/token", body, content_type="application/json")
    assert response.status_code == 400


@override_settings(MAX_JSON_BODY_BYTES=64 * 1024)
def test_a_json_body_over_the_limit_is_a_413_in_the_error_shape(make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("athlete"))
    body = json.dumps({"type": "general_feedback", "message": "x" * 70_000})
    response = client.post("/api/feedback/submit", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize("value", [2.2e-311, 5e-324, 0.0, 10_000.5])
def test_accuracy_external_value_out_of_bounds_is_a_400(value: float, make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("athlete"))
    body = {"activity_id": 1, "source": "garmin", "external_value": value}
    response = client.post("/api/feedback/accuracy-validation", body, format="json")
    assert response.status_code == 400
    assert "external_value" in response.json()["error"]["message"]


def test_limits_are_published_in_the_schema() -> None:
    schemas = openapi_schema()["components"]["schemas"]
    external = schemas["AccuracyRequest"]["properties"]["external_value"]
    assert external["minimum"] == 0.01 and external["maximum"] == 9999.99
    progress = schemas["JobProgress"]["properties"]
    assert progress["done"]["type"] == "integer" and "oneOf" not in progress["done"]
    assert progress["fraction"]["type"] == "number"


# --- login throttle --------------------------------------------------------------------------------------


def _guess(client: APIClient, username: str, forwarded: str | None = None, remote: str = "198.51.100.7") -> int:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    body = {"username": username, "password": "wrong"}
    return client.post("/api/v1/auth/token", body, format="json", **extra).status_code


def test_rotating_x_forwarded_for_does_not_bypass_the_login_throttle(make_user: Any) -> None:
    victim = make_user("athlete")
    client = APIClient()
    statuses = [_guess(client, victim.username, forwarded=f"203.0.113.{i}") for i in range(15)]
    assert statuses.count(401) == 10  # THROTTLE_LOGIN 10/min from one address, whatever the header says
    assert statuses[10:] == [429] * 5


def test_guesses_at_one_username_from_many_addresses_are_throttled(make_user: Any, monkeypatch: Any) -> None:
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "login_username": "5/hour"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    victim = make_user("athlete")
    client = APIClient()
    statuses = [_guess(client, victim.username.upper(), remote=f"198.51.100.{i}") for i in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    assert _guess(client, "someone-else", remote="198.51.100.99") == 401  # other names are not affected


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address(make_user: Any) -> None:
    victim = make_user("athlete")
    client = APIClient()
    # through our proxy, from 12 different clients: each its own bucket (first spoofed hop is ignored)
    statuses = [
        _guess(client, victim.username, forwarded=f"1.2.3.4, 203.0.113.{i}", remote="10.1.1.1") for i in range(12)
    ]
    assert set(statuses) == {401}
    # one client through the proxy, spoofing the left part: one bucket
    same = [_guess(client, f"name{i}", forwarded=f"9.9.9.{i}, 203.0.113.200", remote="10.1.1.1") for i in range(12)]
    assert same == [401] * 10 + [429] * 2


# --- tokens ----------------------------------------------------------------------------------------------


def test_a_password_change_revokes_the_users_tokens(make_user: Any) -> None:
    user = make_user("athlete")
    _, token = token_create(user=user)
    token_create(user=user)
    other = make_user("athlete")
    token_create(user=other)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me").status_code == 200
    user.set_password("a-new-long-password")
    user.save()
    assert AuthToken.objects.filter(user=user).count() == 0
    assert AuthToken.objects.filter(user=other).count() == 1
    assert client.get("/api/v1/me").status_code == 401
    user.first_name = "unchanged password"
    token_create(user=user)
    user.save()
    assert AuthToken.objects.filter(user=user).count() == 1  # other saves keep tokens


def test_revoke_tokens_command_for_incidents(make_user: Any) -> None:
    first, second = make_user("athlete"), make_user("athlete")
    for user in (first, second, first):
        token_create(user=user)
    call_command("revoke_tokens", first.username, reason="phished")
    assert not AuthToken.objects.filter(user=first).exists() and AuthToken.objects.filter(user=second).exists()
    call_command("revoke_tokens", all=True, reason="key leak")
    assert AuthToken.objects.count() == 0


def test_staff_admin_action_revokes_tokens(make_user: Any) -> None:
    staff = make_user("staff", staff=True, is_superuser=True)
    target = make_user("athlete")
    token_create(user=target)
    console = Client()
    console.force_login(staff)
    response = console.post(
        "/admin/core/user/", {"action": "revoke_api_tokens", "_selected_action": [target.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not AuthToken.objects.filter(user=target).exists()


# --- jobs ------------------------------------------------------------------------------------------------


def test_users_do_not_see_internal_triage_jobs(make_user: Any, client_for: Any) -> None:
    athlete = make_user("athlete")
    client = client_for(athlete)
    assert (
        client.post("/api/feedback/submit", {"type": "bug_report", "message": "crash"}, format="json").status_code
        == 201
    )
    job_enqueue(kind="core.ping", params={}, created_by=athlete)
    assert Job.objects.filter(created_by=athlete, kind="feedback.triage").exists()
    kinds = [job["kind"] for job in client.get("/api/v1/jobs").json()["results"]]
    assert kinds == ["core.ping"]
    staff = client_for(make_user("staff", staff=True))
    assert "feedback.triage" in [job["kind"] for job in staff.get("/api/v1/jobs").json()["results"]]


# --- body limits (WSGI wrapper, in process) --------------------------------------------------------------


def _wsgi(environ: dict[str, Any]) -> tuple[str, bytes]:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["called"] = True
        start_response("200 OK", [])
        return [b"ok"]

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    body = b"".join(BodyLimitWSGI(app, BodyLimits(anonymous=100, authenticated=1000))(environ, start_response))
    return seen["status"], body


@pytest.mark.parametrize(
    ("environ", "status"),
    [
        ({"CONTENT_LENGTH": "101"}, "413 Request Entity Too Large"),
        ({"CONTENT_LENGTH": "100"}, "200 OK"),
        ({"CONTENT_LENGTH": "900", "HTTP_AUTHORIZATION": "Bearer x"}, "200 OK"),
        ({"CONTENT_LENGTH": "900", "HTTP_COOKIE": "a=1; sessionid=abc"}, "200 OK"),
        ({"CONTENT_LENGTH": "1001", "HTTP_AUTHORIZATION": "Bearer x"}, "413 Request Entity Too Large"),
        ({"CONTENT_LENGTH": "12abc"}, "400 Bad Request"),
        ({}, "200 OK"),
    ],
)
def test_wsgi_wrapper_refuses_declared_oversize_bodies(environ: dict[str, Any], status: str) -> None:
    got, body = _wsgi(environ)
    assert got == status
    if status.startswith("413"):
        assert json.loads(body)["error"]["code"] == "request_too_large"

"""Schemathesis over the generated OpenAPI schema, in-process (WSGI), as an athlete and as staff.

Every operation gets a bounded number of generated requests (``EXAMPLES``) that fit its schema; each answer
must be no server error, a documented status with the documented content type and schema, and an operation
that declares authentication must refuse a request without it (``ignored_auth``).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from knox.models import AuthToken
from knox.settings import CONSTANTS
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from core.services import token_create
from core.tests.api_surface import PUBLIC_OPERATIONS, openapi_schema, operations
from core.wsgi import application

EXAMPLES = 6
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]

SCHEMA = schemathesis.openapi.from_dict(openapi_schema())
SCHEMA.app = application
OPERATIONS = {f"{result.ok().method.upper()} {result.ok().path}": result.ok() for result in SCHEMA.get_all_operations()}


@pytest.fixture(autouse=True)
def _keep_test_connection() -> Any:
    """The WSGI handler closes the database connection after each request; the test's transaction lives on it
    (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(make_user: Any, db: Any) -> dict[str, str]:
    athlete = make_user("athlete")
    staff = make_user("staff", staff=True)
    return {"athlete": token_create(user=athlete)[1], "staff": token_create(user=staff)[1]}


def test_every_operation_of_the_schema_is_exercised() -> None:
    assert {f"{m} {p}" for m, p in operations()} == set(OPERATIONS)


@pytest.mark.parametrize("role", ["athlete", "staff"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_conforms_to_its_schema(label: str, role: str, tokens: dict[str, str]) -> None:
    operation = OPERATIONS[label]
    headers = {} if label in PUBLIC_OPERATIONS else {"Authorization": f"Bearer {tokens[role]}"}
    if label == "POST /api/v1/auth/logout":
        headers = {"Authorization": "Bearer " + token_create(user=_user_of(tokens[role]))[1]}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _user_of(token: str) -> Any:
    return AuthToken.objects.get(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).user

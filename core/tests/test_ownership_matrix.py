"""The ownership matrix over EVERY operation of the generated OpenAPI schema × six roles.

A new endpoint is covered the day it is added: the operations come from the schema, the objects in its path
from the API itself (the target athlete's own list endpoint), and the rules are the README's:

* anonymous → 401 everywhere except ``PUBLIC_OPERATIONS``;
* ``/api/admin/…`` is staff only: every other role → 403, staff is never refused;
* another athlete and a coach not linked never get a 2xx for an operation on the target athlete or one of
  their objects (404 is the answer: what you may not see does not exist);
* the athlete themself reads their own objects (GET → 200); their coach reads what is addressed by athlete;
  staff is never refused a read (but "mine" endpoints are the caller's own, so staff may get 404 there);
* nobody ever gets a 5xx.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from core.models import CoachAthlete, Job, User
from core.services import token_create
from core.tests.api_surface import PUBLIC_OPERATIONS, openapi_schema, operations

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "self", "other_athlete", "coach_of", "coach_not_of", "staff")
PARAM = re.compile(r"\{([^}]+)\}")
STREAM = {
    "streams": {"time": {"data": list(range(0, 1800, 5))}, "heartrate": {"data": [140] * 360}},
    "start": "2026-11-01T08:00:00Z",
}


@pytest.fixture(scope="module")
def world(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """Built once for the module and committed (each test's own writes are rolled back); removed at the end."""
    with django_db_blocker.unblock():
        built = _build_world()
        try:
            yield built
        finally:
            ids = [user.pk for user in built["users"].values()]
            Job.objects.filter(created_by_id__in=ids).delete()
            User.objects.filter(pk__in=ids).delete()


def _build_world() -> dict[str, Any]:
    stamp = uuid.uuid4().hex[:8]
    users = {
        role: User.objects.create_user(
            username=f"matrix-{role}-{stamp}",
            password="pw",
            role="coach" if role.startswith("coach") else ("staff" if role == "staff" else "athlete"),
            is_staff=role == "staff",
            is_superuser=role == "staff",
        )
        for role in ROLES
        if role != "anonymous"
    }
    CoachAthlete.objects.create(coach=users["coach_of"], athlete=users["self"])
    CoachAthlete.objects.create(coach=users["coach_not_of"], athlete=users["other_athlete"])
    clients: dict[str, APIClient] = {"anonymous": APIClient()}
    for role, user in users.items():
        clients[role] = APIClient()
        clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {token_create(user=user)[1]}")
    me = clients["self"]
    athlete_id = users["self"].pk
    # The target athlete's objects, made through the API: an activity, a profile (which queues a job), feedback.
    assert me.post("/api/v1/activities", STREAM, format="json").status_code == 201
    profile = {"effective_from": "2026-01-01", "resting_hr": 50, "max_hr": 190}
    assert me.post(f"/api/v1/athletes/{athlete_id}/hr-profiles", profile, format="json").status_code == 201
    feedback = {"type": "general_feedback", "message": "ownership matrix probe"}
    assert me.post("/api/feedback/submit", feedback, format="json").status_code == 201
    return {"users": users, "clients": clients, "athlete_id": athlete_id}


def _first_id(client: APIClient, path: str) -> Any:
    response = client.get(path)
    if response.status_code != 200:
        return None
    body = response.json()
    items = body.get("results", body) if isinstance(body, dict) else body
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return items[0].get("id")
    return None


def _resolve(path: str, world: dict[str, Any]) -> tuple[str, bool]:
    """The path with every parameter filled with the target athlete's object; the flag says whether every
    parameter names such an object (else the operation is checked only for the role rules)."""
    resolved, owned = path, False
    for name in PARAM.findall(path):
        placeholder = "{" + name + "}"
        if "athlete" in name:
            value: Any = world["athlete_id"]
            owned = True
        else:
            prefix = path.split(placeholder)[0].rstrip("/")
            value = _first_id(world["clients"]["self"], PARAM.sub("0", prefix))
            owned = owned or value is not None
            if value is None:
                value = _first_id(world["clients"]["staff"], PARAM.sub("0", prefix)) or _placeholder(path, name)
        resolved = resolved.replace(placeholder, str(value))
    return resolved, owned


def _placeholder(path: str, name: str) -> str:
    """A value of the parameter's declared type (the route must match, or the answer is the catch-all 404)."""
    for operation in openapi_schema()["paths"][path].values():
        for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
            if parameter.get("name") == name and parameter.get("in") == "path":
                schema = parameter.get("schema", {})
                if schema.get("format") == "uuid":
                    return "00000000-0000-4000-8000-000000000000"
                return "1" if schema.get("type") == "integer" else "x"
    return "1"


def _call(client: APIClient, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    return getattr(client, method.lower())(path, {}, format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), operations(), ids=[f"{m} {p}" for m, p in operations()])
def test_operation_obeys_ownership(world: dict[str, Any], method: str, path: str, role: str) -> None:
    label = f"{method} {path}"
    url, owned = _resolve(path, world)
    # a filled-in value of the wrong type lands on the catch-all 404, which every role but anonymous would pass
    assert resolve(url.split("?")[0]).url_name != "api-not-found", f"{label}: {url} matches no route"
    status = _call(world["clients"][role], method, url).status_code
    assert status < 500, f"{label} as {role}: {status}"
    if role == "anonymous":
        if label not in PUBLIC_OPERATIONS:
            assert status == 401, f"{label} anonymous: {status}"
        return
    if path.startswith("/api/admin/"):
        if role == "staff":
            assert status not in (401, 403), f"{label} as staff: {status}"
        else:
            assert status == 403, f"{label} as {role} (staff only): {status}"
        return
    if role in ("other_athlete", "coach_not_of") and owned:
        assert not 200 <= status < 300, f"{label} as {role} on another athlete's object: {status}"
    if role == "staff" and method == "GET":
        assert status not in (401, 403), f"{label} as staff: {status}"
    if method == "GET" and owned and (role == "self" or (role == "coach_of" and "athlete" in path)):
        assert status == 200, f"{label} as {role}: {status}"
    if role in ("self", "staff", "coach_of") and method == "GET" and not PARAM.search(path):
        assert status == 200, f"{label} as {role}: {status}"

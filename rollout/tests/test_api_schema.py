"""The OpenAPI schema describes the rollout API's real responses: every documented field is answered and
nothing undocumented is."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers as drf

from rollout import serializers

pytestmark = pytest.mark.django_db
FLAG = "enhanced_trimp_calculation"


def _matches(body: Any, shape: drf.Serializer) -> None:
    assert set(body) == set(shape.fields), (sorted(body), sorted(shape.fields))
    for name, field in shape.fields.items():
        value = body[name]
        if isinstance(field, drf.ListSerializer) and value:
            _matches(value[0], field.child)
        elif isinstance(field, drf.Serializer) and value is not None:
            _matches(value, field)


def test_flag_and_rollout_responses_match_their_schema(staff_client: Any) -> None:
    started = staff_client.post("/api/admin/rollouts", {"flag": FLAG, "reason": "go"}, format="json")
    assert started.status_code == 201
    _matches(started.json(), serializers.RolloutDetailOut())
    moved = staff_client.post(f"/api/admin/rollouts/{FLAG}/advance", {"reason": "next"}, format="json")
    _matches(moved.json(), serializers.TransitionResponseOut())
    _matches(staff_client.get("/api/admin/rollouts").json(), serializers.RolloutListOut())
    _matches(staff_client.get("/api/admin/feature-flags").json(), serializers.FlagListOut())
    toggled = staff_client.post(f"/api/admin/feature-flags/{FLAG}/toggle", {"enabled": False}, format="json")
    _matches(toggled.json(), serializers.ToggleOut())
    _matches(staff_client.get(f"/api/admin/feature-flags/{FLAG}").json(), serializers.FlagDetailOut())
    check = staff_client.get(f"/api/admin/feature-flags/{FLAG}/check?user_id=1")
    _matches(check.json(), serializers.FlagCheckOut())
    validation = staff_client.post(
        "/api/admin/deployment/validate", {"validation_type": "pre_deployment"}, format="json"
    )
    _matches(validation.json(), serializers.ValidationOut())


def test_the_schema_names_the_response_components(staff_client: Any) -> None:
    schema = staff_client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    for name in ("FlagOut", "RolloutDetailOut", "TransitionOut", "ToggleOut", "ValidationOut"):
        assert name in components
    assert "from" in components["TransitionOut"]["properties"]

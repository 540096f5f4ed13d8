"""The compiled contract check gives jsonschema's verdict on every payload, and refuses schemas it cannot cover."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from planning.engine.contract import _compiled, payload_failures, sample_payload, schema
from planning.engine.schema_check import UnsupportedSchema, compile_check

VALIDATOR = Draft7Validator(schema())
CHECK = compile_check(schema())

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 10)
    | st.floats(-2, 10, allow_nan=False)
    | st.sampled_from([0, 1, 1.0, 0.6, 0.3, 0.1, 7, 8, 7.5, -0.01, 1.01, True, False, ""])
    | st.text(max_size=3)
    | st.sampled_from(["fixed-weight-v1", "2026-12-03T08:00:00+00:00", "2026-12-03 08:00", "x"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


SAMPLE_PATHS = _paths(sample_payload())


@st.composite
def mutated_payloads(draw: st.DrawFn) -> Any:
    """The contract's sample with one to three edits: a value replaced, a key removed, or a key added."""
    payload = copy.deepcopy(sample_payload())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(SAMPLE_PATHS))
        if not path:
            return draw(json_values)
        parent: Any = payload
        try:
            for part in path[:-1]:
                parent = parent[part]
            last = path[-1]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[last] = draw(json_values)
            elif action == "delete" and isinstance(parent, dict):
                del parent[last]
            elif isinstance(parent, dict):
                parent[draw(st.sampled_from(["extra", "safety", "weight", "metrics", "total"]))] = draw(json_values)
        except (KeyError, IndexError, TypeError):  # an earlier edit removed or replaced this path
            continue
    return payload


@settings(max_examples=1500, deadline=None)
@given(payload=mutated_payloads())
def test_compiled_check_agrees_with_jsonschema_on_edited_samples(payload: Any) -> None:
    assert CHECK(payload) is VALIDATOR.is_valid(payload)


@settings(max_examples=300, deadline=None)
@given(payload=json_values)
def test_compiled_check_agrees_with_jsonschema_on_any_json(payload: Any) -> None:
    assert CHECK(payload) is VALIDATOR.is_valid(payload)


def test_the_contract_is_compiled_and_its_sample_passes() -> None:
    assert _compiled() is not None
    assert CHECK(sample_payload()) is True


@pytest.mark.parametrize(
    ("kind", "value", "valid"),
    [
        ("integer", 1, True),
        ("integer", 1.0, True),
        ("integer", True, False),
        ("integer", None, False),
        ("integer", 0.5, False),
        ("integer", 8, False),
        ("integer", "1", False),
        ("number", float("nan"), True),  # no comparison with NaN fails, in jsonschema as here
        ("number", -0.01, False),
    ],
)
def test_types_and_bounds_follow_jsonschema(kind: str, value: Any, valid: bool) -> None:
    subschema = {"type": kind, "minimum": 0, "maximum": 7}
    assert compile_check(subschema)(value) is valid
    assert Draft7Validator(subschema).is_valid(value) is valid


def test_const_tells_true_from_one_and_a_ref_hides_its_siblings() -> None:
    assert compile_check({"const": 1})(True) is False
    assert compile_check({"const": 1})(1.0) is True
    referring = {
        "definitions": {"n": {"type": "number"}},
        "properties": {"a": {"$ref": "#/definitions/n", "type": "string"}},
    }
    assert compile_check(referring)({"a": 2}) is Draft7Validator(referring).is_valid({"a": 2}) is True


@pytest.mark.parametrize(
    "unsupported",
    [
        {"format": "date-time"},
        {"patternProperties": {"^x": {}}, "additionalProperties": False},
        {"items": [{"type": "string"}]},
        {"properties": {"a": {"$ref": "other.json#/x"}}},
        {"anyOf": [{"type": "string"}]},
    ],
)
def test_a_keyword_outside_the_list_is_refused_not_skipped(unsupported: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchema):
        compile_check(unsupported)


def test_failures_are_still_worded_by_jsonschema() -> None:
    broken = copy.deepcopy(sample_payload())
    broken["weights"]["safety"] = 0.7
    assert payload_failures(broken) == [("$.weights.safety", "0.6 was expected")]

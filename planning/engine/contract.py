"""The scoring payload contract: JSON Schema (draft 7) plus the arithmetic the schema cannot say. No Django.

``payload_failures(payload)`` lists each failure as ``(json_path, message)``; ``sample_payload()`` is the
contract's example. ``docs/contracts/scoring_payload.schema.json`` is the schema, shipped with the code.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft7Validator

from planning.engine.schema_check import Check, UnsupportedSchema, compile_check

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "scoring_payload.schema.json"
TOLERANCE = 1e-3
FACTORS = ("safety", "compliance", "performance")


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_PATH.read_text()))


@lru_cache(maxsize=1)
def _validator() -> Draft7Validator:
    # Imported here (once: the validator is cached): planning.services.plans imports this module at start-up, and
    # jsonschema would cost every ``manage.py`` command ~50 ms.
    from jsonschema import Draft7Validator

    Draft7Validator.check_schema(schema())
    return Draft7Validator(schema())


@lru_cache(maxsize=1)
def _compiled() -> Check | None:
    """The schema as plain Python checks (``schema_check``), or None if it uses a keyword they do not cover."""
    try:
        return compile_check(schema())
    except UnsupportedSchema:
        return None


def sample_payload() -> dict[str, Any]:
    return dict(schema()["examples"][0])


def _path(parts: Any) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def payload_failures(payload: Any) -> list[tuple[str, str]]:
    """``(json_path, message)`` for every way ``payload`` breaks the contract (empty when it holds).

    The schema is checked by its compiled form (``schema_check``) when it has one: the same verdict in ~45 µs
    instead of ~550 µs a score, and every plan job checks its score. ``jsonschema`` words the failures, and checks
    everything itself when the schema has no compiled form.
    """
    compiled = _compiled()
    failures: list[tuple[str, str]] = []
    if compiled is None or not compiled(payload):
        failures = [
            (_path(error.absolute_path), error.message)
            for error in sorted(_validator().iter_errors(payload), key=lambda e: list(map(str, e.absolute_path)))
        ]
    if failures or not isinstance(payload, dict):
        return failures
    factors = payload["factors"]
    total = 0.0
    for name in FACTORS:
        factor = factors[name]
        if abs(factor["weight"] - payload["weights"][name]) > TOLERANCE:
            failures.append((f"$.factors.{name}.weight", f"{factor['weight']} differs from weights.{name}"))
        expected = factor["weight"] * factor["score"]
        if abs(factor["contribution"] - expected) > TOLERANCE:
            failures.append(
                (f"$.factors.{name}.contribution", f"{factor['contribution']} is not weight × score = {expected:.4f}")
            )
        total += factor["contribution"]
    if abs(sum(payload["weights"].values()) - 1.0) > TOLERANCE:
        failures.append(("$.weights", "weights do not sum to 1.0"))
    if abs(payload["total"] - total) > TOLERANCE:
        failures.append(("$.total", f"{payload['total']} is not the sum of contributions {total:.4f}"))
    return failures

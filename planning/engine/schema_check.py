"""A JSON Schema (draft 7) compiled into plain Python checks, for the keywords the scoring contract uses. No Django.

``compile_check(schema)`` returns a function ``payload -> bool`` that agrees with ``jsonschema.Draft7Validator
.is_valid`` for schemas made of: boolean schemas, ``type``, ``const``, ``enum``, ``minimum``/``maximum`` (and their
exclusive forms), ``minLength``/``maxLength``, ``pattern``, ``required``, ``properties``, ``additionalProperties``,
``items`` (one schema), ``allOf`` and local ``$ref`` (which, in draft 7, hides its siblings), plus annotations. It
raises ``UnsupportedSchema`` for any other keyword, so a schema that grows past this list falls back to
``jsonschema`` rather than being checked loosely. It only answers valid/invalid: the caller asks ``jsonschema``
for the messages when a payload fails. A score is checked several times faster this way than by ``jsonschema``
(see ``payload_failures``), and the plan job checks every score before storing it.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Check = Callable[[Any], bool]

ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples", "default", "definitions"})


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this compiler does not implement."""


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    if type(value) is float or type(value) is int:  # the common case, without the ABC check
        return True
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def _always(value: Any) -> bool:
    return True


def _every(checks: list[Check]) -> Check:
    """One check that passes when all of ``checks`` pass (plain loops: this runs for every stored score)."""
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def every(value: Any) -> bool:
        for check in frozen:  # noqa: SIM110  (a loop: no generator frame per call)
            if not check(value):
                return False
        return True

    return every


TYPES: dict[str, Check] = {
    "array": lambda value: isinstance(value, list),
    "boolean": lambda value: isinstance(value, bool),
    "integer": _is_integer,
    "null": lambda value: value is None,
    "number": _is_number,
    "object": lambda value: isinstance(value, dict),
    "string": lambda value: isinstance(value, str),
}

_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    return _TRUE if value is True else _FALSE if value is False else value


def equal(one: Any, two: Any) -> bool:
    """JSON equality as jsonschema's ``const``/``enum`` see it: ``True`` is not ``1``, ``1`` is ``1.0``."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return one.keys() == two.keys() and all(equal(one[key], two[key]) for key in one)
    return bool(_unbool(one) == _unbool(two))


class _Compiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        if not pointer.startswith("#"):
            raise UnsupportedSchema(f"only local references are compiled, not {pointer!r}")
        if pointer not in self.refs:
            self.refs[pointer] = lambda value: True  # placeholder while a recursive schema compiles
            target: Any = self.root
            for part in filter(None, pointer[1:].split("/")):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target[int(part)] if isinstance(target, list) else target[part]
            self.refs[pointer] = self.compile(target)
        refs = self.refs
        return lambda value: refs[pointer](value)

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return lambda value: False
        if not isinstance(schema, dict):
            raise UnsupportedSchema(f"a schema must be an object or a boolean, not {schema!r}")
        if "$id" in schema and schema is not self.root:
            raise UnsupportedSchema("a nested $id (a new base for references) is not compiled")
        if "$ref" in schema:  # draft 7: a reference replaces every other keyword of its schema
            return self.ref(schema["$ref"])
        checks = [self.keyword(name, argument, schema) for name, argument in schema.items() if name not in ANNOTATIONS]
        return _every([check for check in checks if check is not None])

    def keyword(self, name: str, argument: Any, schema: dict[str, Any]) -> Check | None:
        if name == "type":
            names = [argument] if isinstance(argument, str) else list(argument)
            if any(type_name not in TYPES for type_name in names):
                raise UnsupportedSchema(f"unknown type in {argument!r}")
            predicates = [TYPES[type_name] for type_name in names]
            if len(predicates) == 1:
                return predicates[0]
            return lambda value: any(predicate(value) for predicate in predicates)
        if name == "const":
            return lambda value: equal(value, argument)
        if name == "enum":
            return lambda value: any(equal(value, each) for each in argument)
        if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            return _bound(name, argument)
        if name in ("minLength", "maxLength"):
            shortest = name == "minLength"
            return lambda value: (
                not isinstance(value, str) or (len(value) >= argument if shortest else len(value) <= argument)
            )
        if name == "pattern":
            search = re.compile(argument).search
            return lambda value: not isinstance(value, str) or search(value) is not None
        if name == "required":
            return lambda value: not isinstance(value, dict) or all(key in value for key in argument)
        if name == "properties":
            checks = {key: self.compile(subschema) for key, subschema in argument.items()}
            return lambda value: (
                not isinstance(value, dict) or all(check(value[key]) for key, check in checks.items() if key in value)
            )
        if name == "additionalProperties":
            if "patternProperties" in schema:
                raise UnsupportedSchema("patternProperties is not compiled")
            known = frozenset(schema.get("properties", {}))
            extra = self.compile(argument)
            return lambda value: (
                not isinstance(value, dict) or all(extra(value[key]) for key in value if key not in known)
            )
        if name == "items":
            if isinstance(argument, list):
                raise UnsupportedSchema("tuple-form items is not compiled")
            each = self.compile(argument)
            return lambda value: not isinstance(value, list) or all(each(item) for item in value)
        if name == "allOf":
            return _every([self.compile(subschema) for subschema in argument])
        raise UnsupportedSchema(f"the keyword {name!r} is not compiled")


def _bound(name: str, limit: Any) -> Check:
    # Written as jsonschema writes them ("fails when below"), so NaN passes here exactly as it passes there.
    breaks: Callable[[Any], bool] = {
        "minimum": lambda value: value < limit,
        "maximum": lambda value: value > limit,
        "exclusiveMinimum": lambda value: value <= limit,
        "exclusiveMaximum": lambda value: value >= limit,
    }[name]
    return lambda value: not breaks(value) if _is_number(value) else True


def compile_check(schema: Any) -> Check:
    """``payload -> bool``, the same answer as ``Draft7Validator(schema).is_valid``; ``UnsupportedSchema`` if it
    cannot promise that."""
    return _Compiler(schema).compile(schema)

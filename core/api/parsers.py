"""A JSON parser with limits: size (413), nesting depth, non-finite numbers, NUL and lone surrogates (400).

Why: the standard parser let a 2 KB body nested 1,000 deep reach a ``RecursionError`` (500), turned
``1e400`` into infinity, and passed ``\\u0000`` and lone surrogates that PostgreSQL cannot store (500).
Every API view uses this parser (``DEFAULT_PARSER_CLASSES``), so each of those is one 400 here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


def nesting_depth(raw: bytes) -> int:
    """The deepest ``[``/``{`` nesting of a JSON text, brackets inside strings ignored (vectorised)."""
    skeleton = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    if skeleton.size == 0:
        return 0
    steps = np.isin(skeleton, _OPEN).astype(np.int32) - np.isin(skeleton, _CLOSE).astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:30]} is out of range")
    return value


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def check_text(document: Any) -> str | None:
    """The first string (key or value) holding NUL or a lone surrogate, as a short description; else None."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if _BAD_CHARACTER.search(key):
                    return f"key {key!r:.40}"
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(value for value in item if isinstance(value, (dict, list, str)))
        elif isinstance(item, str) and _BAD_CHARACTER.search(item):
            return f"value {item!r:.40}"
    return None


def loads_bounded(raw: bytes, *, max_depth: int) -> Any:
    """Parse ``raw`` JSON; ``ValueError`` for malformed text, nesting over ``max_depth``, non-finite numbers,
    NUL characters or lone surrogates in any string."""
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise ValueError(f"nested {depth} levels deep; at most {max_depth} are allowed")
    try:
        document = json.loads(raw, parse_float=_finite_float, parse_constant=_reject_constant)
    except RecursionError as exc:  # cannot happen under the depth check; kept so it is never a 500
        raise ValueError("nested too deeply") from exc
    if _SUSPECT_ESCAPE.search(raw):
        where = check_text(document)
        if where is not None:
            raise ValueError(f"{where} contains a NUL character or a lone surrogate")
    return document


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with ``MAX_JSON_BODY_BYTES`` (413) and ``MAX_JSON_DEPTH`` (400) and the checks of
    :func:`loads_bounded`."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        limit = settings.MAX_JSON_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(f"The JSON body is larger than the limit of {limit} bytes.")
        try:
            return loads_bounded(raw, max_depth=settings.MAX_JSON_DEPTH)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc

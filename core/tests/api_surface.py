"""The API's operations as the generated OpenAPI schema lists them (so a new endpoint is tested the day it
is added), shared by the schemathesis run and the ownership matrix."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from drf_spectacular.generators import SchemaGenerator

# Operations anyone may call without credentials (everything else must answer 401 to an anonymous caller).
PUBLIC_OPERATIONS = frozenset({"POST /api/v1/auth/token"})
HTTP_METHODS = ("get", "put", "post", "patch", "delete")


@lru_cache(maxsize=1)
def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document exactly as ``/api/schema/`` serves it."""
    return SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-any-return]


def operations() -> list[tuple[str, str]]:
    """``(METHOD, path template)`` of every operation, sorted."""
    found = []
    for path, item in openapi_schema()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                found.append((method.upper(), path))
    return sorted(found)


def operation_security(method: str, path: str) -> list[dict[str, Any]]:
    operation = openapi_schema()["paths"][path][method.lower()]
    return list(operation.get("security", openapi_schema().get("security", [])))

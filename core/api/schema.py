"""Schema helpers for plain APIViews (drf-spectacular needs a serializer to describe a response)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class JSONObjectSerializer(serializers.Serializer):
    """A JSON object; the endpoint's summary and the README say what is in it."""


# Every operation may answer these with the error shape (core.api.exceptions): bad input, no or bad
# credentials, not allowed, not found/not visible, conflict, body too large, throttled, database unavailable.
ERROR_STATUSES: dict[str, str] = {
    "400": "The request is invalid (the message and details name the field).",
    "401": "Not authenticated: missing, expired or revoked token.",
    "403": "Authenticated but not allowed.",
    "404": "Not found, or not visible to you.",
    "409": "Conflict with the current state.",
    "413": "The request body is larger than the limit.",
    "429": "Throttled: retry after details.wait_seconds.",
    "503": "A service the request needs (the database) is unavailable; retry later.",
}
ERROR_COMPONENT = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable machine-readable code, e.g. validation_error"},
                "message": {"type": "string"},
                "details": {"description": "field errors or other context; null when there is none"},
            },
        }
    },
}
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options", "trace")


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the error shape for every status in ``ERROR_STATUSES`` to every
    operation that does not describe that status itself, so clients (and schemathesis) know every answer."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Error", ERROR_COMPONENT)
    reference = {"$ref": "#/components/schemas/Error"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status_code, description in ERROR_STATUSES.items():
                responses.setdefault(
                    status_code, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result

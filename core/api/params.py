"""Query-parameter parsing that answers 400 with the error shape, never a 500."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from core.errors import ServiceError


def int_param(
    params: Any, name: str, *, default: int | None = None, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """``params[name]`` as a plain ASCII decimal integer within bounds; ``default`` when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    text = str(raw)
    if not (text.isascii() and text.lstrip("-").isdigit() and len(text) <= 12):
        raise ServiceError("validation_error", f"{name} must be an integer, got {text[:20]!r}.")
    value = int(text)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise ServiceError("validation_error", f"{name} must be {bounds}, got {value}.")
    return value


def uuid_param(params: Any, name: str) -> UUID | None:
    """``params[name]`` as a UUID (any form ``uuid.UUID`` reads, hyphens or not); None when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    text = str(raw)
    try:
        return UUID(text)
    except ValueError:
        raise ServiceError("validation_error", f"{name} must be a UUID, got {text[:40]!r}.") from None


def validated(serializer_class: type, data: Any) -> dict[str, Any]:
    """Run ``serializer_class`` on ``data`` (a body or query dict); invalid → 400 in the error shape."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)

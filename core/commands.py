"""Helpers for thin management commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.management.base import CommandError

from core.errors import ServiceError
from core.models import User

T = TypeVar("T")


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a ServiceError into a CommandError (exit 1 with ``code: message``)."""
    try:
        yield
    except ServiceError as exc:
        raise CommandError(f"{exc.code}: {exc.message}") from exc


def call_service(func: Callable[..., T], **kwargs: Any) -> T:
    with service_errors():
        return func(**kwargs)


def actor_from(username: str | None) -> User | None:
    """The user a command acts as (``--as USERNAME``), or None for the system."""
    if not username:
        return None
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as exc:
        raise CommandError(f"No user named {username!r} (--as).") from exc

"""Errors that services raise and every interface (API, command, admin) knows how to show."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A request the service refuses, with a stable machine-readable ``code``.

    ``status`` is the HTTP status the API answers with (4xx); commands print ``code: message`` and exit 1.
    """

    status: int = 400

    def __init__(self, code: str, message: str, *, details: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        if status is not None:
            self.status = status


class NotFoundError(ServiceError):
    status = 404


class ConflictError(ServiceError):
    status = 409

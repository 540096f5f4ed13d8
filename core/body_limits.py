"""Request-body limits enforced by the server wrapper, before Django (and so before authentication) runs.

Why here: Django's ASGI handler reads the whole body into a spooled temporary file before any middleware or
view runs, so a 512 MiB anonymous POST used to be written to disk before its 401. The wrappers below refuse a
body from its ``Content-Length`` before reading a byte, and count the bytes of a body without one (chunked)
while it streams, refusing it as soon as it passes the limit.

Authentication is not known at this level: a request carrying an ``Authorization`` header or the session
cookie gets ``MAX_BODY_BYTES`` (the upload limit), any other request ``MAX_ANON_BODY_BYTES``. A forged header
buys at most the upload limit; the view still answers 401 and Django's own memory limits still apply.

The 413 answer is the API's error shape: ``{"error": {"code": "request_too_large", "message", "details"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """``anonymous``: bytes allowed without credentials; ``authenticated``: with an Authorization header or
    the session cookie named ``session_cookie``."""

    anonymous: int
    authenticated: int
    session_cookie: str = "sessionid"

    def for_headers(self, authorization: bool, cookie: str) -> int:
        if authorization or _has_cookie(cookie, self.session_cookie):
            return self.authenticated
        return self.anonymous


def limits_from_settings() -> BodyLimits:
    from django.conf import settings  # read when the wrapper is built, after Django is configured

    return BodyLimits(
        anonymous=settings.MAX_ANON_BODY_BYTES,
        authenticated=settings.MAX_BODY_BYTES,
        session_cookie=settings.SESSION_COOKIE_NAME,
    )


def _has_cookie(cookie_header: str, name: str) -> bool:
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return True
    return False


def too_large_body(limit: int, what: str = "request body") -> bytes:
    """The 413 body in the API's error shape."""
    message = f"The {what} is larger than the limit of {limit} bytes."
    body = {"error": {"code": "request_too_large", "message": message, "details": {"limit": limit}}}
    return json.dumps(body).encode()


def bad_length_body() -> bytes:
    body = {"error": {"code": "bad_request", "message": "Content-Length is not a valid number.", "details": None}}
    return json.dumps(body).encode()


def parse_length(raw: str | None) -> int | None:
    """``Content-Length`` as an int; ``None`` when absent; ``-1`` when it is not a plain decimal number."""
    if raw is None:
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return -1
    return int(text)


class BodyLimitASGI:
    """ASGI wrapper refusing oversize bodies with 413 before the application reads them."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self._limits = limits

    @property
    def limits(self) -> BodyLimits:
        if self._limits is None:
            self._limits = limits_from_settings()
        return self._limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization, cookie, length_header = False, "", None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = True
            elif name == b"cookie":
                cookie = value.decode("latin-1")
            elif name == b"content-length":
                length_header = value.decode("latin-1")
        limit = self.limits.for_headers(authorization, cookie)
        length = parse_length(length_header)
        if length == -1:
            await _respond(send, 400, bad_length_body())
            return
        if length is not None and length > limit:
            await _respond(send, 413, too_large_body(limit))
            return
        counting = _CountingReceive(receive, send, limit)
        await self.app(scope, counting, _GuardedSend(send, counting))


class _CountingReceive:
    """Counts body bytes as they stream; past the limit it answers 413 itself and tells the application the
    client went away (Django's handler then stops without answering)."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self.receive = receive
        self.send = send
        self.limit = limit
        self.seen = 0
        self.refused = False

    async def __call__(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self.limit:
                self.refused = True
                await _respond(self.send, 413, too_large_body(self.limit))
                return {"type": "http.disconnect"}
        return message


class _GuardedSend:
    """Passes the application's messages through, unless the body was refused (the 413 is already sent)."""

    def __init__(self, send: Send, counting: _CountingReceive) -> None:
        self.send = send
        self.counting = counting

    async def __call__(self, message: Message) -> None:
        if not self.counting.refused:
            await self.send(message)


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread rest of the body must not be parsed as the next request
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BodyLimitWSGI:
    """WSGI wrapper refusing a ``Content-Length`` over the limit before the application reads the body.

    A WSGI body without ``Content-Length`` is never read by Django (it reads ``CONTENT_LENGTH`` bytes, 0 when
    absent), so only the declared length needs checking here.
    """

    def __init__(self, app: WSGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self._limits = limits

    @property
    def limits(self) -> BodyLimits:
        if self._limits is None:
            self._limits = limits_from_settings()
        return self._limits

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        limit = self.limits.for_headers("HTTP_AUTHORIZATION" in environ, environ.get("HTTP_COOKIE", ""))
        length = parse_length(environ.get("CONTENT_LENGTH") or None)
        if length == -1:
            return _wsgi_respond(start_response, "400 Bad Request", bad_length_body())
        if length is not None and length > limit:
            return _wsgi_respond(start_response, "413 Request Entity Too Large", too_large_body(limit))
        return self.app(environ, start_response)


def _wsgi_respond(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")],
    )
    return [body]

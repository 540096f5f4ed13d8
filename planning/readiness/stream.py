"""``POST /api/v1/recommendations/pre-session/stream``: the answer as Server-Sent Events.

Authentication, validation and every query run first, in the view, so a bad request answers 4xx in the error
shape and nothing is streamed; then the events are yielded by an async iterator, which the ASGI handler
consumes on the event loop, so an open stream holds no thread. Under uvicorn (``core.asgi_handler``) the
middleware chain and this view run in one hop onto the request's reused thread; the view is sync because an
async view would add two hops (into the event loop and back for the reads) for nothing. A client that
disconnects cancels the iterator (Django's ASGI handler), and ``OPEN_STREAMS`` drops back.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.request import Request

from core.api.authentication import BearerTokenAuthentication
from core.api.exceptions import api_exception_handler, error_response
from core.errors import ServiceError
from planning.readiness import engine
from planning.readiness.api import prepare_request

OPEN_STREAMS = {"count": 0}  # streams whose iterator is running in this process (tests and ops)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str, separators=(',', ':'))}\n\n"


def _prepare(request: HttpRequest) -> engine.Context | HttpResponse:
    drf = Request(
        request, parsers=[JSONParser()], authenticators=[BearerTokenAuthentication(), SessionAuthentication()]
    )
    try:
        if not drf.user or not drf.user.is_authenticated:
            return error_response("not_authenticated", "Authentication credentials were not provided.", 401)
        return prepare_request(drf.user, drf.data)
    except (ServiceError, APIException) as exc:
        response = api_exception_handler(exc, {})
        assert response is not None
        return error_response(
            response.data["error"]["code"],
            response.data["error"]["message"],
            response.status_code,
            response.data["error"]["details"],
        )


async def _events(ctx: engine.Context) -> AsyncIterator[str]:
    OPEN_STREAMS["count"] += 1
    try:
        for name, data in engine.answer(ctx):
            yield sse(name, data)
    finally:
        OPEN_STREAMS["count"] -= 1


@csrf_exempt  # Bearer clients carry no CSRF token; SessionAuthentication enforces CSRF for browser sessions
def pre_session_stream(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return error_response("method_not_allowed", f'Method "{request.method}" not allowed.', 405)
    prepared = _prepare(request)
    if isinstance(prepared, HttpResponse):
        return prepared
    response = StreamingHttpResponse(_events(prepared), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response

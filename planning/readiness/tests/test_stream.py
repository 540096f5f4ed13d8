"""The SSE stream under the real ASGI application: event order, headers, override, errors, disconnect.

Requests run on a fresh event loop (``asyncio.run``), as under uvicorn, so they take the handler's reused
request threads (``core.asgi_handler``), not the test's thread.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.api.authentication import token_create
from core.asgi import application
from planning.readiness import stream

pytestmark = pytest.mark.django_db(transaction=True)
PATH = "/api/v1/recommendations/pre-session/stream"
CHECKIN = {"sleep_hours": 7, "energy_level": 4, "stress_level": 2}


async def call(token: str, body: Any, *, hold_after_first: bool = False) -> tuple[int, dict[str, str], str, bool]:
    """POST through the ASGI app; with ``hold_after_first`` the client stalls after the first event, then leaves."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(raw)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent = {"body": False}
    first_chunk = asyncio.Event()
    status, headers, chunks = 0, {}, []

    async def receive() -> dict[str, Any]:
        if not sent["body"]:
            sent["body"] = True
            return {"type": "http.request", "body": raw, "more_body": False}
        if hold_after_first:
            await first_chunk.wait()
            return {"type": "http.disconnect"}
        await asyncio.Event().wait()  # never: the client stays
        return {}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"].decode())
            if hold_after_first:
                first_chunk.set()
                await asyncio.sleep(3600)  # a stalled client: the disconnect must cancel this

    await asyncio.wait_for(application(scope, receive, send), timeout=20)
    return status, headers, "".join(chunks), first_chunk.is_set()


def run(token: str, body: Any, **kwargs: Any) -> tuple[int, dict[str, str], str, bool]:
    return asyncio.run(call(token, body, **kwargs))


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_stream_sends_the_events_in_order_with_the_headers(make_user: Any) -> None:
    _, token = token_create(user=make_user("athlete"))
    status, headers, text, _ = run(token, CHECKIN)
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache" and headers["x-accel-buffering"] == "no"
    names = [name for name, _ in events(text)]
    assert names == ["context_loaded", "prediction", "recommendations", "stats", "done"]
    assert dict(events(text))["prediction"]["source"] == "population_priors"


def test_override_rule_skips_the_prediction(make_user: Any) -> None:
    _, token = token_create(user=make_user("athlete"))
    _, _, text, _ = run(token, {**CHECKIN, "pain_reported": True})
    parsed = events(text)
    assert [name for name, _ in parsed] == ["context_loaded", "recommendations", "stats", "done"]
    recs = dict(parsed)["recommendations"]
    assert recs["session_type"] == "rest" and recs["override"]["rule"] == "Pain or injury reported"
    _, _, text, _ = run(token, {**CHECKIN, "sleep_hours": 3})
    assert dict(events(text))["recommendations"]["session_type"] == "technique_only"


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ({"energy_level": 4, "stress_level": 2}, "validation_error", 400),
        ({**CHECKIN, "sleep_hours": -1}, "validation_error", 400),
        ({**CHECKIN, "stress_level": "2"}, "validation_error", 400),
        ([1, 2], "validation_error", 400),
    ],
)
def test_bad_checkins_answer_in_the_error_shape(make_user: Any, body: Any, code: str, status: int) -> None:
    _, token = token_create(user=make_user("athlete"))
    got_status, headers, text, _ = run(token, body)
    assert got_status == status and headers["content-type"].startswith("application/json")
    assert json.loads(text)["error"]["code"] == code


def test_someone_elses_user_answers_404_and_bad_tokens_401(make_user: Any) -> None:
    other = make_user("athlete")
    _, token = token_create(user=make_user("athlete"))
    status, _, text, _ = run(token, {**CHECKIN, "user_id": other.pk})
    assert status == 404 and json.loads(text)["error"]["code"] == "athlete_not_found"
    status, _, text, _ = run("not-a-token", CHECKIN)
    assert status == 401 and "error" in json.loads(text)


def test_a_client_that_disconnects_mid_stream_frees_it(make_user: Any) -> None:
    _, token = token_create(user=make_user("athlete"))
    status, _, text, got_first = run(token, CHECKIN, hold_after_first=True)
    assert status == 200 and got_first
    assert [name for name, _ in events(text)] == ["context_loaded"]  # nothing after the client left
    assert stream.OPEN_STREAMS["count"] == 0


def test_a_warm_stream_reads_only_the_token(make_user: Any, settings: Any) -> None:
    """Rules, priors, the athlete's data, flags and the maintenance state come from caches: one query, the
    token (the periodic re-checks of flags and maintenance are pushed out of the test's way)."""
    settings.FLAGS_REFRESH_SECONDS = settings.MAINTENANCE_CACHE_SECONDS = 3600
    _, token = token_create(user=make_user("athlete"))
    async_to_sync(call)(token, CHECKIN)  # on this thread (inside async_to_sync), so its queries are captured
    with CaptureQueriesContext(connection) as queries:
        status, _, text, _ = async_to_sync(call)(token, CHECKIN)
    assert status == 200 and "event: done" in text
    assert [q["sql"].split(" FROM ", 1)[1].split()[0] for q in queries.captured_queries] == ['"knox_authtoken"']

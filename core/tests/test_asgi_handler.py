"""The ASGI handler (core.asgi_handler): request threads reused with their database connection, idle ones
capped and retired with their connections closed, a busy one never reused; inside async_to_sync a request runs
on the calling thread; the middleware chain still answers (request id, error shape, security headers)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from django.db.backends.signals import connection_created

from core.asgi_handler import RequestThread, RequestThreads, StaminaASGIHandler
from core.services import token_create


async def get(app: Any, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = [(b"host", b"testserver")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent = {"request": False}
    answer: dict[str, Any] = {"body": b""}
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not sent["request"]:
            sent["request"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")
            if not message.get("more_body"):
                finished.set()

    await app(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]


@pytest.fixture
def app() -> Iterator[StaminaASGIHandler]:
    handler = StaminaASGIHandler(RequestThreads(max_idle=4))
    yield handler
    handler.threads.retire_idle()


@pytest.fixture
def new_connections() -> Iterator[list[str]]:
    made: list[str] = []

    def record(sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.current_thread().name.startswith("request"):  # not the test's own connection
            made.append(threading.current_thread().name)

    connection_created.connect(record)
    yield made
    connection_created.disconnect(record)


@pytest.fixture
def conn_max_age() -> Iterator[None]:
    """Persistent connections for threads that connect from now on (the settings dict they are built from)."""
    settings_dict = connections.settings["default"]
    before = (settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"])
    settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"] = 60, True
    yield
    settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"] = before


@pytest.mark.django_db(transaction=True)
def test_sequential_requests_reuse_one_thread_and_its_connection(
    app: StaminaASGIHandler, make_user: Any, new_connections: list[str], conn_max_age: None
) -> None:
    _, token = token_create(user=make_user())
    for _ in range(5):
        status, headers, _ = asyncio.run(get(app, "/api/v1/me", token))
        assert status == 200 and headers["x-request-id"]
    assert app.threads.started == 1 and app.threads.idle_count() == 1
    assert len(new_connections) == 1


@pytest.mark.django_db(transaction=True)
def test_without_conn_max_age_each_request_connects_anew(
    app: StaminaASGIHandler, make_user: Any, new_connections: list[str]
) -> None:
    _, token = token_create(user=make_user())
    for _ in range(3):
        assert asyncio.run(get(app, "/api/v1/me", token))[0] == 200
    assert app.threads.started == 1
    assert len(new_connections) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_each_get_a_thread_and_answer(app: StaminaASGIHandler, make_user: Any) -> None:
    tokens = [token_create(user=make_user())[1] for _ in range(6)]

    async def all_at_once() -> list[tuple[int, dict[str, str], bytes]]:
        return await asyncio.gather(*(get(app, "/api/v1/me", token) for token in tokens))

    answers = asyncio.run(all_at_once())
    assert [status for status, _, _ in answers] == [200] * 6
    assert 1 <= app.threads.started <= 6 and app.threads.idle_count() <= 4


@pytest.mark.django_db
def test_inside_async_to_sync_the_request_runs_on_the_calling_thread(app: StaminaASGIHandler, make_user: Any) -> None:
    """The token exists only in this test's open transaction: only this thread's connection can see it."""
    _, token = token_create(user=make_user())
    # As Django's test client does: the request signals must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        status, _, _ = async_to_sync(get)(app, "/api/v1/me", token)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert status == 200
    assert app.threads.started == 0


@pytest.mark.django_db(transaction=True)
def test_errors_keep_the_api_shape_and_the_middleware_headers(app: StaminaASGIHandler) -> None:
    status, headers, body = asyncio.run(get(app, "/api/v1/me"))
    assert status == 401 and b'"not_authenticated"' in body
    assert headers["x-request-id"] and headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_idle_threads_are_capped_and_reused_last_in_first_out() -> None:
    threads = RequestThreads(max_idle=2)
    a, b, c = threads.acquire(), threads.acquire(), threads.acquire()
    assert len({a, b, c}) == 3 and threads.started == 3
    for thread in (a, b, c):
        thread.submit(lambda: None).result()
        threads.release(thread)
    assert threads.idle_count() == 2
    assert threads.acquire() is b  # c was retired: the cap is 2
    with pytest.raises(RuntimeError):  # a retired thread takes no more work
        c.submit(lambda: None)
    threads.retire_idle()


def test_a_thread_still_running_work_is_retired_not_reused() -> None:
    threads = RequestThreads(max_idle=4)
    thread = threads.acquire()
    gate = threading.Event()
    thread.submit(gate.wait, 5)
    threads.release(thread)  # a client that left while its request's sync work still runs
    assert threads.idle_count() == 0
    gate.set()
    thread.shutdown(wait=True)


@pytest.mark.django_db(transaction=True)
def test_a_retired_thread_closes_its_database_connection() -> None:
    thread = RequestThread()

    def connect() -> Any:
        wrapper = connections["default"]  # this thread's own, not the proxy
        wrapper.ensure_connection()
        return wrapper

    used = thread.submit(connect).result()
    assert used.connection is not None
    thread.retire()
    thread.shutdown(wait=True)
    assert used.connection is None


def test_start_up_objects_are_frozen_out_of_the_collector() -> None:
    import gc

    from core.asgi_handler import freeze_startup_objects

    try:
        frozen = freeze_startup_objects()
        assert frozen > 10_000 and gc.get_freeze_count() == frozen
        assert "planning.readiness.stream" in sys.modules  # the URLconf's views were loaded first
    finally:
        gc.unfreeze()

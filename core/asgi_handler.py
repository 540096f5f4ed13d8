"""Django's ASGI handler with one thread hop per request and request threads that are reused.

Django's own ``ASGIHandler`` (5.2) costs every request, before any view code runs:

- **a new thread and a new database connection.** Each request gets its own ``ThreadSensitiveContext``, so a
  fresh single-thread executor; Django's connections belong to a thread, so each request also opens (and at
  its end closes) a connection, whatever ``CONN_MAX_AGE`` says. On PostgreSQL that is a connect per request.
- **a hop between the event loop and that thread at every sync/async boundary.** Under ASGI the core that
  calls the view is async: a run of sync middlewares is one hop in and one back, but view middleware
  (``process_view``), the sync parts of an async view and each method of a middleware running in async mode
  are one hop each. With our ``MIDDLEWARE`` the readiness stream took 9 hops; making every middleware
  async-capable makes it 21, because Django's own middlewares (``MiddlewareMixin``) run each
  ``process_request``/``process_response`` through ``sync_to_async`` in async mode.

This handler keeps Django's ASGI request and response code (reading the body, noticing a client that
disconnects, streaming an async iterator from the event loop, the request signals) and changes two things:

- the middleware chain and the view run in sync mode, in **one** ``sync_to_async`` call per request, as under
  WSGI. An async view still works: Django runs it through ``async_to_sync`` on the event loop;
- each request's thread-sensitive work runs on a single-thread executor taken from ``RequestThreads`` and given
  back when the response is done, so its thread — and, with ``DB_CONN_MAX_AGE`` > 0, that thread's database
  connection — serves a later request. A request still has a thread of its own while it runs, as with
  Django's handler. At most ``ASGI_IDLE_THREADS`` idle threads are kept; a thread beyond that, or one still
  running work of its last request (a client that left mid-request), is retired after closing its
  connections.

When the application is called from a thread that is inside ``async_to_sync`` (a test driving the ASGI app
that way), the request's sync work runs on that calling thread, as with Django's handler, so it sees the
caller's connection and transaction.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from asgiref.sync import AsyncToSync, ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connections
from django.http import HttpRequest, HttpResponseBase
from django.urls import get_resolver


class RequestThread(ThreadPoolExecutor):
    """A single-thread executor that knows whether work is still queued or running on it."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="request")
        self._pending = 0
        self._pending_lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._pending_lock:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future: Future[Any] | None) -> None:
        with self._pending_lock:
            self._pending -= 1

    @property
    def idle(self) -> bool:
        with self._pending_lock:
            return self._pending == 0

    def retire(self) -> None:
        """Close this thread's database connections (after any queued work), then let the thread end."""
        try:
            self.submit(connections.close_all)
        except RuntimeError:  # already shut down
            return
        self.shutdown(wait=False)


class RequestThreads:
    """Idle request threads, reused last in, first out (its connection is the most likely to be alive)."""

    def __init__(self, max_idle: int) -> None:
        self.max_idle = max_idle
        self._idle: list[RequestThread] = []
        self._lock = threading.Lock()
        self.started = 0  # threads created since start (tests and ops)

    def acquire(self) -> RequestThread:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.started += 1
        return RequestThread()

    def release(self, thread: RequestThread) -> None:
        if thread.idle:
            with self._lock:
                if len(self._idle) < self.max_idle:
                    self._idle.append(thread)
                    return
        thread.retire()

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)

    def retire_idle(self) -> None:
        """Retire every idle thread (their connections closed); for tests and shutdown."""
        with self._lock:
            idle, self._idle = self._idle, []
        for thread in idle:
            thread.retire()


class StaminaASGIHandler(ASGIHandler):
    """``ASGIHandler`` with the middleware chain and views in sync mode and reused request threads."""

    def __init__(self, threads: RequestThreads | None = None) -> None:
        # Not ASGIHandler.__init__: it builds the async-mode chain this class replaces.
        self.load_middleware(is_async=False)
        self.threads = threads if threads is not None else RequestThreads(settings.ASGI_IDLE_THREADS)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        if getattr(AsyncToSync.executors, "current", None) is not None:
            # Called from inside async_to_sync: run on the calling thread, as Django's handler does.
            async with ThreadSensitiveContext():
                await self.handle(scope, receive, send)
            return
        thread = self.threads.acquire()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            self.threads.release(thread)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        """The whole sync middleware chain and the view, in one hop onto the request's thread."""
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> StaminaASGIHandler:
    """Like ``django.core.asgi.get_asgi_application``, with this handler."""
    import django

    django.setup(set_prefix=False)
    return StaminaASGIHandler()


def freeze_startup_objects() -> int:
    """Load the URLconf (so every view module), collect, then move every live object to the permanent
    generation (``gc.freeze``); return how many. The collector's full passes then scan only what was made
    after start-up: before, one took up to 214 ms (mean 118 ms) in a 50-client stream run on the 2-core bench
    machine, a stall of every request in flight (the stream's p99)."""
    _ = get_resolver().url_patterns
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

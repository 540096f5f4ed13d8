"""API latency and outcome per route, for the guards and the dashboard."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from rollout.monitoring.recorder import record


class ApiMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        match = request.resolver_match
        route = match.route if match is not None else "unmatched"
        status_class = f"{response.status_code // 100}xx"
        record("api.latency_ms", elapsed_ms, route=route, method=request.method or "", status_class=status_class)
        record("api.requests", 1.0, route=route, status_class=status_class)
        return response

"""The monitoring page of the ops console: open alerts, rule states and small charts (inline SVG, no CDN)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from rollout.flags import flag_is_on
from rollout.monitoring import selectors


def sparkline(values: list[float | None], *, width: int = 240, height: int = 40, colour: str = "#1565c0") -> SafeString:
    """A tiny SVG line chart of ``values`` (None = gap)."""
    points = [v for v in values if v is not None]
    if not points:
        return format_html(
            '<svg width="{}" height="{}"><text x="4" y="24" font-size="11" fill="#999">no data</text></svg>',
            width,
            height,
        )
    lo, hi = min(points), max(points)
    span = (hi - lo) or 1.0
    step = width / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        y = height - 4 - (value - lo) / span * (height - 8)
        segments[-1].append(f"{i * step:.1f},{y:.1f}")
    lines = "".join(
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{" ".join(seg)}"/>'
        for seg in segments
        if seg
    )
    return format_html(
        '<svg width="{}" height="{}" viewBox="0 0 {} {}" role="img"><title>min {} max {}</title>{}</svg>',
        width,
        height,
        width,
        height,
        f"{lo:.4g}",
        f"{hi:.4g}",
        SafeString(lines),
    )


def monitoring_view(request: HttpRequest) -> HttpResponse:
    enabled = flag_is_on(request, "admin_dashboard_enabled")
    context: dict[str, Any] = {**admin.site.each_context(request), "title": "Monitoring", "enabled": enabled}
    if enabled:
        data = selectors.dashboard(minutes=60)
        context.update(
            alerts=data["open_alerts"],
            rules=data["rules"],
            incidents=data["incidents"],
            charts=[
                {
                    "metric": metric,
                    "count": sparkline([p["count"] for p in series], colour="#2e7d32"),
                    "p95": sparkline([p["p95"] for p in series]),
                    "total": sum(p["count"] for p in series),
                }
                for metric, series in data["series"].items()
            ],
        )
    return TemplateResponse(request, "admin/monitoring/dashboard.html", context)

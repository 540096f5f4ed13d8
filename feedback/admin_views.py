"""The feedback summary page of the ops console, with small SVG charts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from feedback.selectors import feedback_summary
from rollout.monitoring.admin_views import sparkline


def _bars(shares: dict[str, dict[str, Any]], *, width: int = 320) -> str:
    rows = [(name, data["share"] or 0.0, data["validations"]) for name, data in shares.items()]
    if not rows:
        return mark_safe("<p>No validations yet.</p>")
    bar_height = 22
    return format_html(
        '<svg width="{}" height="{}" role="img">{}</svg>',
        width + 180,
        bar_height * len(rows) + 4,
        format_html_join(
            "",
            '<text x="0" y="{}" font-size="12">{}</text><rect x="110" y="{}" width="{}" height="16" fill="{}"/>'
            '<text x="{}" y="{}" font-size="12">{} % of {}</text>',
            (
                (
                    i * bar_height + 14,
                    name,
                    i * bar_height + 2,
                    max(1, share * width),
                    "#2e7d32" if share >= 0.8 else "#c62828",
                    116 + share * width,
                    i * bar_height + 14,
                    f"{share * 100:.0f}",
                    count,
                )
                for i, (name, share, count) in enumerate(rows)
            ),
        ),
    )


def summary_view(request: HttpRequest) -> HttpResponse:
    data = feedback_summary()
    weeks = data["satisfaction"]["by_week"]
    context = {
        **admin.site.each_context(request),
        "title": "Feedback summary",
        "data": data,
        "satisfaction_chart": sparkline([w["mean"] for w in weeks], width=420, height=60),
        "weeks": weeks,
        "accuracy_chart": _bars(data["accuracy"]["by_method"]),
    }
    return TemplateResponse(request, "admin/feedback/summary.html", context)

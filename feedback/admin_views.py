"""The feedback summary page of the ops console, with small SVG charts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from core.charts import Axis, Series, Threshold, line_chart
from feedback.selectors import feedback_summary


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


def satisfaction_chart(weeks: list[dict[str, Any]]) -> SafeString:
    """Mean rating (1–5) per week, with the neutral rating 3 as a reference line."""
    svg = line_chart(
        title="Satisfaction by week",
        x_labels=[str(w["week"]) for w in weeks],
        hover_labels=[f"week of {w['week']} ({w['ratings']} ratings)" for w in weeks],
        x_axis_label="week (starting Monday)",
        left=Axis("mean rating (1–5)", include_zero=False, domain=(1.0, 5.0)),
        series=[Series("mean rating", [w["mean"] for w in weeks], "#1565c0", bridge_gaps=True, stroke=2.0)],
        thresholds=[Threshold(3.0, "neutral 3", "#9e9e9e")],
        width=620,
        height=240,
        empty_message="no ratings in this period",
    )
    return mark_safe(svg)  # built by core.charts, which escapes every text it writes


def summary_view(request: HttpRequest) -> HttpResponse:
    data = feedback_summary()
    weeks = data["satisfaction"]["by_week"]
    context = {
        **admin.site.each_context(request),
        "title": "Feedback summary",
        "data": data,
        "satisfaction_chart": satisfaction_chart(weeks),
        "weeks": weeks,
        "accuracy_chart": _bars(data["accuracy"]["by_method"]),
    }
    return TemplateResponse(request, "admin/feedback/summary.html", context)

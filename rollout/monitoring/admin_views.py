"""The monitoring page of the ops console: open alerts, rule states, and one chart per rule (``core.charts``).

Each chart shows what its rule judges — the rule's own aggregation (p95, ratio, mean, …) over each minute of
the last hour — on a left axis with the metric's unit, the samples per minute as bars on a labelled right
axis, and the rule's warning / error / critical thresholds as dashed lines, so a person can see how far a
metric is from firing. Minutes without samples are gaps bridged by a dashed line (a p95 never falls apart).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from core.charts import SEVERITY_COLOURS, Axis, Series, Threshold, format_value, line_chart
from rollout.flags import flag_is_on
from rollout.monitoring import selectors
from rollout.monitoring.models import AlertRule

CHART_MINUTES = 60
SYMBOLS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def value_axis(rule: AlertRule) -> Axis:
    """The unit of a rule's number: a share (ratio, or the mean of a 0/1 metric) in %, else the metric's unit
    from its name (``_ms`` milliseconds, ``_mb`` megabytes), counts per minute for count and rate."""
    what = {"ratio": "share", "rate": "sum per minute", "count": "samples"}.get(rule.aggregation, rule.aggregation)
    if rule.aggregation == "ratio" or (rule.aggregation == "mean" and "pct" in rule.metric):
        return Axis(f"{what} of {rule.metric} per minute (%)", percent=True)
    for suffix, unit in (("_ms", "ms"), ("_mb", "MB"), ("_s", "s")):
        if rule.metric.endswith(suffix):
            return Axis(f"{what} of {rule.metric} per minute ({unit})", unit=unit)
    return Axis(f"{what} of {rule.metric} per minute")


def thresholds_of(rule: AlertRule, axis: Axis) -> list[Threshold]:
    """One line per distinct threshold value; levels sharing a value share a line ("error/critical < 90%")."""
    by_value: dict[float, list[str]] = {}
    for level in ("warning", "error", "critical"):
        value = getattr(rule, level)
        if value is not None:
            by_value.setdefault(float(value), []).append(level)
    symbol = SYMBOLS.get(rule.operator, rule.operator)
    return [
        Threshold(
            value,
            f"{'/'.join(levels)} {symbol} {format_value(value, axis)}",
            SEVERITY_COLOURS[levels[-1]],
        )
        for value, levels in by_value.items()
    ]


def _minute_label(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def rule_chart(rule: AlertRule, *, minutes: int = CHART_MINUTES, now: datetime | None = None) -> SafeString:
    points = selectors.rule_series(rule, minutes=minutes, now=now)
    axis = value_axis(rule)
    percentile = rule.aggregation in ("p50", "p95", "p99")
    zone = timezone.get_current_timezone_name()
    svg = line_chart(
        title=f"{rule.name} — {rule.aggregation} per minute, last hour",
        x_labels=[_minute_label(p["minute"]) for p in points],
        hover_labels=[timezone.localtime(p["minute"]).strftime("%Y-%m-%d %H:%M") for p in points],
        x_axis_label=f"time ({zone})",
        left=axis,
        right=Axis("samples per minute"),
        series=[
            Series("samples / min", [float(p["samples"]) for p in points], "#cfd8dc", axis="right", kind="bars"),
            Series(rule.aggregation, [p["value"] for p in points], "#1565c0", bridge_gaps=percentile, stroke=2.0),
        ]
        if any(p["samples"] for p in points)
        else [],  # nothing recorded: the empty state, not a row of zero bars
        thresholds=thresholds_of(rule, axis),
        empty_message="no data in the last hour",
    )
    return mark_safe(svg)  # built by core.charts, which escapes every text it writes


def monitoring_view(request: HttpRequest) -> HttpResponse:
    enabled = flag_is_on(request, "admin_dashboard_enabled")
    context: dict[str, Any] = {**admin.site.each_context(request), "title": "Monitoring", "enabled": enabled}
    if enabled:
        data = selectors.dashboard(minutes=CHART_MINUTES)
        now = timezone.now()
        context.update(
            alerts=data["open_alerts"],
            rules=data["rules"],
            incidents=data["incidents"],
            charts=[
                {"rule": rule.name, "description": rule.description, "svg": rule_chart(rule, now=now)}
                for rule in AlertRule.objects.filter(enabled=True).order_by("name")
            ],
        )
    return TemplateResponse(request, "admin/monitoring/dashboard.html", context)

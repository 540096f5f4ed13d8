"""Planning pages of the ops console: a plan as weeks × weekdays, and the score distribution as an SVG chart."""

from __future__ import annotations

from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from planning.engine.days import plan_day
from planning.selectors import ScoreDistribution

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_INTENSITY_COLOUR = {"low": "#e8f5e9", "moderate": "#fff8e1", "high": "#ffebee"}


def score_histogram(distribution: ScoreDistribution, *, width: int = 420, height: int = 140) -> SafeString:
    """Ten bars (total 0.0–0.1 … 0.9–1.0) of scored plans, labelled with their counts."""
    peak = max(distribution.bins) or 1
    bar = width / len(distribution.bins)
    plot = height - 30
    rows = []
    for i, count in enumerate(distribution.bins):
        bar_height = count / peak * (plot - 12)
        rows.append(
            (
                f"{i * bar + 2:.1f}",
                f"{plot - bar_height:.1f}",
                f"{bar - 4:.1f}",
                f"{bar_height:.1f}",
                count,
                f"{i / 10:.1f}",
                f"{(i + 1) / 10:.1f}",
                f"{i * bar + bar / 2:.1f}",
                f"{max(10.0, plot - bar_height - 2):.1f}",
                count or "",
                f"{i * bar + bar / 2:.1f}",
                height - 14,
                f"{i / 10:.1f}",
            )
        )
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#1565c0"><title>{} plan(s) scored {}–{}</title></rect>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>',
        rows,
    )
    return format_html(
        '<svg id="score-distribution" width="{}" height="{}" role="img"><title>fixed-weight-v1 totals</title>{}'
        '<text x="{}" y="{}" font-size="10" text-anchor="end">total →</text></svg>',
        width,
        height,
        bars,
        width,
        height - 2,
    )


def plan_grid(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for the template: one per microcycle, seven cells (None = rest day); each session cell carries its
    plan ``day`` (what a training session's ``plan_day`` names)."""
    rows = []
    for cycle in plan.get("microcycles", []):
        cells: list[dict[str, Any] | None] = [None] * 7
        for session in cycle["sessions"]:
            cells[session["weekday"] - 1] = {
                **session,
                "day": plan_day(cycle["week"], session["weekday"]),
                "colour": _INTENSITY_COLOUR.get(session["intensity"], "#fff"),
                "sets": sum(ex["sets"] for ex in session["exercises"]),
            }
        rows.append({"week": cycle["week"], "phase": cycle["phase"], "deload": cycle["deload"], "cells": cells})
    return rows

"""Server-rendered SVG for the experiment admin page: a forest plot of relative effects with their confidence
intervals per metric, and exposures per day per variant. Plain strings, every label escaped."""

from __future__ import annotations

import math
from datetime import date
from html import escape
from typing import Any

WIDTH = 760
LABEL_W = 250
ROW_H = 34
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
OUTCOME_COLOUR = {"better": "#2ca02c", "worse": "#d62728", "inconclusive": "#555"}


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), default=raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def forest_plot(result_data: dict[str, Any]) -> str:
    """One row per (metric, treatment): the relative effect (point), its CI (thick line) and the always-valid
    sequential CI (thin line); a dashed line at 0 and a labelled axis in percent."""
    rows = []
    for metric in result_data.get("metrics", []):
        for variant, c in metric["comparisons"].items():
            rel = c["relative"]
            seq = c.get("sequential_relative_ci") or [None, None]
            if rel.get("effect") is None:
                continue
            rows.append((metric, variant, rel, seq, c["outcome"]))
    if not rows:
        return '<p class="help">No metric has data yet.</p>'
    values = [v for _, _, rel, seq, _ in rows for v in (rel["ci_low"], rel["ci_high"], seq[0], seq[1]) if v is not None]
    values += [0.0]
    # Clip very wide sequential bounds (small samples) so the fixed-horizon intervals stay readable.
    fixed = [abs(v) for _, _, rel, _, _ in rows for v in (rel["ci_low"], rel["ci_high"]) if v is not None]
    limit = max(0.05, 3 * max(fixed, default=0.0))
    low = max(min(values), -limit)
    high = min(max(values), limit)
    pad = (high - low) * 0.08 or 0.01
    low, high = low - pad, high + pad
    plot_w = WIDTH - LABEL_W - 20
    height = ROW_H * len(rows) + 50

    def x(value: float) -> float:
        return LABEL_W + (min(max(value, low), high) - low) / (high - low) * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="Forest plot of relative effects" font-family="sans-serif" font-size="12">',
        f'<line x1="{x(0):.1f}" y1="8" x2="{x(0):.1f}" y2="{height - 38}" stroke="#999" stroke-dasharray="4 3"/>',
    ]
    for i, (metric, variant, rel, seq, outcome) in enumerate(rows):
        y = 20 + i * ROW_H
        colour = OUTCOME_COLOUR.get(outcome, "#555")
        label = f"{metric['source']} ({metric['role']}) · {variant}"
        parts.append(f'<text x="4" y="{y + 4}" fill="#222">{escape(label)}</text>')
        if seq[0] is not None and seq[1] is not None:
            parts.append(
                f'<line x1="{x(seq[0]):.1f}" y1="{y}" x2="{x(seq[1]):.1f}" y2="{y}" stroke="{colour}" '
                f'stroke-width="1" opacity="0.6"><title>sequential CI</title></line>'
            )
        if rel["ci_low"] is not None and rel["ci_high"] is not None:
            parts.append(
                f'<line x1="{x(rel["ci_low"]):.1f}" y1="{y}" x2="{x(rel["ci_high"]):.1f}" y2="{y}" '
                f'stroke="{colour}" stroke-width="4">'
                f"<title>{rel['ci_low']:+.2%} to {rel['ci_high']:+.2%}</title></line>"
            )
        parts.append(f'<circle cx="{x(rel["effect"]):.1f}" cy="{y}" r="5" fill="{colour}"/>')
        parts.append(
            f'<text x="{WIDTH - 4}" y="{y - 8}" text-anchor="end" fill="{colour}">'
            f"{rel['effect']:+.1%} ({escape(outcome)})</text>"
        )
    axis_y = height - 34
    parts.append(f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + plot_w}" y2="{axis_y}" stroke="#333"/>')
    for tick in _ticks(low, high):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{axis_y}" x2="{x(tick):.1f}" y2="{axis_y + 5}" stroke="#333"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{axis_y + 18}" text-anchor="middle">{tick:+.0%}</text>')
    parts.append(
        f'<text x="{LABEL_W + plot_w / 2}" y="{height - 2}" text-anchor="middle">relative effect vs control '
        "(thick: 95 % CI, thin: always-valid CI)</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def exposure_chart(series: dict[str, list[tuple[date, int]]]) -> str:
    """Cumulative exposed users per variant per day (one line each), with a labelled time and count axis."""
    days = sorted({day for points in series.values() for day, _ in points})
    if not days:
        return '<p class="help">No exposures yet.</p>'
    cumulative: dict[str, list[int]] = {}
    for variant, points in series.items():
        by_day = dict(points)
        total = 0
        cumulative[variant] = []
        for day in days:
            total += by_day.get(day, 0)
            cumulative[variant].append(total)
    top = max(max(values) for values in cumulative.values()) or 1
    left, width, height, bottom = 60, WIDTH - 80, 200, 170

    def px(i: int) -> float:
        return left + (i / max(1, len(days) - 1)) * width

    def py(value: int) -> float:
        return bottom - value / top * (bottom - 20)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height + 20}" role="img" '
        'aria-label="Exposures over time" font-family="sans-serif" font-size="12">',
        f'<line x1="{left}" y1="{bottom}" x2="{left + width}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{left}" y1="20" x2="{left}" y2="{bottom}" stroke="#333"/>',
        f'<text x="{left - 6}" y="24" text-anchor="end">{top:,}</text>',
        f'<text x="{left - 6}" y="{bottom}" text-anchor="end">0</text>',
        f'<text x="{left}" y="{bottom + 16}">{days[0].isoformat()}</text>',
        f'<text x="{left + width}" y="{bottom + 16}" text-anchor="end">{days[-1].isoformat()}</text>',
        f'<text x="{left + width / 2}" y="{bottom + 34}" text-anchor="middle">cumulative exposed users per day</text>',
    ]
    for n, (variant, values) in enumerate(sorted(cumulative.items())):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(f'<text x="{left + 8}" y="{34 + 14 * n}" fill="{colour}">{escape(variant)}: {values[-1]:,}</text>')
    parts.append("</svg>")
    return "".join(parts)

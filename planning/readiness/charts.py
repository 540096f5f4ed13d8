"""Readiness charts as inline SVG with axes and labels (pure: numbers in, markup out; no user text inside)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 24, 34


def line_chart_svg(
    days: Sequence[date],
    series: dict[str, tuple[str, Sequence[float | None]]],
    *,
    y_min: float,
    y_max: float,
    y_label: str,
    title: str,
) -> str:
    """Lines (``name → (colour, values)``, None = gap) over ``days``, a y axis with 5 ticks, dates on x, a legend."""
    n = max(len(days), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_at(i: int) -> float:
        return LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y_at(v: float) -> float:
        return TOP + plot_h * (1 - (v - y_min) / (y_max - y_min))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{title}" font-family="sans-serif" font-size="11">',
        f'<text x="{LEFT}" y="14" font-weight="bold">{title}</text>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#333"/>',
        f'<text x="10" y="{TOP + plot_h / 2}" transform="rotate(-90 10 {TOP + plot_h / 2})" '
        f'text-anchor="middle">{y_label}</text>',
    ]
    for k in range(5):
        v = y_min + (y_max - y_min) * k / 4
        parts.append(
            f'<line x1="{LEFT - 4}" y1="{y_at(v):.1f}" x2="{LEFT + plot_w}" y2="{y_at(v):.1f}" stroke="#eee"/>'
        )
        parts.append(f'<text x="{LEFT - 6}" y="{y_at(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
    for i in sorted({0, n // 2, n - 1}) if days else []:
        parts.append(f'<text x="{x_at(i):.1f}" y="{HEIGHT - 14}" text-anchor="middle">{days[i].isoformat()}</text>')
    for k, (name, (colour, values)) in enumerate(series.items()):
        points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in enumerate(values) if v is not None)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{points}"/>')
        for i, value in enumerate(values):
            if value is not None:
                parts.append(f'<circle cx="{x_at(i):.1f}" cy="{y_at(value):.1f}" r="2.2" fill="{colour}"/>')
        lx = LEFT + plot_w - 160
        parts.append(f'<rect x="{lx}" y="{TOP + 4 + 14 * k}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{TOP + 13 + 14 * k}">{name}</text>')
    parts.append("</svg>")
    return "".join(parts)

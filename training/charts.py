"""The fitness / fatigue / form chart as inline SVG (pure: numbers in, markup out; no user text inside).

Daily loads as grey bars (right axis), CTL (fitness, blue), ATL (fatigue, magenta) and TSB (form, orange,
with its zero line) on the left axis. No JavaScript, no CDN: the admin shows it as it is.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

COLOURS = {"ctl": "#1565c0", "atl": "#ad1457", "tsb": "#ef6c00", "load": "#b0bec5"}
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 16, 28


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def _polyline(xs: FloatArray, ys: FloatArray, colour: str, width: float = 1.8) -> str:
    segments: list[list[str]] = [[]]
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        if y != y:  # NaN: a gap in the line
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(f"{x:.1f},{y:.1f}")
    return "".join(
        f'<polyline fill="none" stroke="{colour}" stroke-width="{width}" points="{" ".join(seg)}"/>'
        for seg in segments
        if seg
    )


def pmc_chart_svg(
    *,
    first_day: date,
    load: FloatArray,
    ctl: FloatArray,
    atl: FloatArray,
    tsb: FloatArray,
    width: int = 960,
    height: int = 340,
) -> str:
    """An SVG chart of the series (equal-length arrays, one value per day from ``first_day``)."""
    days = int(load.size)
    if days == 0:
        return f'<svg width="{width}" height="{height}" role="img"><text x="10" y="20">no days</text></svg>'
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    xs = LEFT + (np.arange(days) + 0.5) * plot_w / days
    lines = np.concatenate([ctl, atl, tsb])
    finite = lines[np.isfinite(lines)]
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = max(1.0, float(finite.max())) if finite.size else 1.0
    step = _nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step

    def y_of(values: FloatArray) -> FloatArray:
        return TOP + (high - values) / (high - low) * plot_h

    load_high = max(float(np.nanmax(load)) if np.isfinite(load).any() else 0.0, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
        "<title>Fitness (CTL), fatigue (ATL) and form (TSB)</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ddd"/>',
    ]
    tick = low
    while tick <= high + step / 2:
        y = float(y_of(np.array([tick]))[0])
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{tick:g}</text>')
        tick += step
    bar_w = max(plot_w / days * 0.7, 0.5)
    for x, value in zip(xs.tolist(), load.tolist(), strict=True):
        if value > 0:
            bar_h = value / load_high * plot_h * 0.45
            parts.append(
                f'<rect x="{x - bar_w / 2:.1f}" y="{TOP + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
                f'height="{bar_h:.1f}" fill="{COLOURS["load"]}"/>'
            )
    parts.append(
        f'<text x="{LEFT + plot_w + 6}" y="{TOP + plot_h * 0.55 + 4:.1f}" fill="#78909c">{load_high:.0f}</text>'
    )
    zero = float(y_of(np.array([0.0]))[0])
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999" stroke-dasharray="3,3"/>'
    )
    for key, values in (("tsb", tsb), ("atl", atl), ("ctl", ctl)):
        parts.append(_polyline(xs, y_of(values), COLOURS[key], 2.2 if key == "ctl" else 1.6))
    label_every = max(1, days // 8)
    for n in range(0, days, label_every):
        day = first_day + timedelta(days=n)
        parts.append(
            f'<text x="{xs[n]:.1f}" y="{height - 8}" text-anchor="middle" fill="#555">{day.isoformat()}</text>'
        )
    legend = [("CTL fitness", "ctl"), ("ATL fatigue", "atl"), ("TSB form", "tsb"), ("daily load", "load")]
    for n, (text, key) in enumerate(legend):
        x = LEFT + 8 + n * 110
        parts.append(f'<rect x="{x}" y="{TOP + 6}" width="12" height="4" fill="{COLOURS[key]}"/>')
        parts.append(f'<text x="{x + 16}" y="{TOP + 11}" fill="#333">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)

"""Server-side SVG charts for every page of the console (pure: numbers and labels in, markup out; no Django).

One helper, :func:`line_chart`, draws what a person needs to read a chart without asking: a left value axis
with its unit, an optional right axis (labelled, for a second unit such as daily load), time or date labels
on the x axis with its name, the threshold lines of the rules that watch the metric, the last value of every
line written at its end, a hover tooltip per x position (every series' value with its unit) and an empty
state that says what is missing ("no data in the last hour"). No JavaScript and no CDN: the SVG scales to its
box (``width: 100%``, ``viewBox``), so a chart fills its card instead of sitting in a corner.

Points are categorical along x (one per minute or per day), aligned with ``x_labels``; ``None`` is a missing
value. A series with ``bridge_gaps`` (a p95 per minute, undefined in minutes without samples) is drawn as a
continuous line with dashed bridges over the gaps and a dot on every real point, so it never falls apart
into invisible one-point fragments.

All text is escaped here; callers mark the returned string safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

LEFT, RIGHT, TOP, BOTTOM = 64, 132, 48, 54
LEGEND_Y = 32  # the legend row, between the title and the plot
GRID = "#e8e8e8"
TEXT = "#444"


@dataclass(frozen=True)
class Axis:
    """A value axis: ``label`` names the quantity and its unit, e.g. ``"p95 latency (ms)"``."""

    label: str
    unit: str = ""
    include_zero: bool = True
    percent: bool = False  # values are shares 0..1 shown as %
    domain: tuple[float, float] | None = None  # a fixed scale (e.g. ratings 1..5), widened only by outliers


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]
    colour: str
    axis: Literal["left", "right"] = "left"
    kind: Literal["line", "bars"] = "line"
    bridge_gaps: bool = False
    stroke: float = 1.8


@dataclass(frozen=True)
class Threshold:
    """A rule's threshold drawn as a dashed line on the left axis (``label`` e.g. ``"critical > 2000"``)."""

    value: float
    label: str
    colour: str = "#c62828"


SEVERITY_COLOURS = {"warning": "#f9a825", "error": "#ef6c00", "critical": "#c62828"}


def nice_step(span: float, ticks: int = 5) -> float:
    """A 1-2-5 step that cuts ``span`` into about ``ticks`` intervals."""
    raw = span / max(ticks, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return float(factor * magnitude)
    return float(10 * magnitude)


def format_value(value: float, axis: Axis | None = None) -> str:
    """A value as people read it: % for shares, no decimals from 100 up, fewer decimals for larger values."""
    if axis is not None and axis.percent:
        value *= 100.0
    magnitude = abs(value)
    if magnitude >= 100 or abs(value - round(value)) < 1e-9 * max(1.0, magnitude):
        text = f"{value:,.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 0.01:
        text = f"{value:.2f}"
    else:
        text = f"{value:.2g}"
    if axis is None:
        return text
    unit = "%" if axis.percent else axis.unit
    return f"{text} {unit}".strip() if unit and unit != "%" else f"{text}{unit}"


def _range(values: list[float], include_zero: bool) -> tuple[float, float, float]:
    low, high = min(values), max(values)
    if include_zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if high - low < 1e-12:
        high = low + (abs(low) or 1.0)
    step = nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


class _Frame:
    def __init__(self, width: int, height: int, points: int) -> None:
        self.width, self.height, self.points = width, height, points
        self.plot_w = width - LEFT - RIGHT
        self.plot_h = height - TOP - BOTTOM
        self.step = self.plot_w / max(points, 1)

    def x(self, index: int) -> float:
        return LEFT + (index + 0.5) * self.step


def _value_axis(
    frame: _Frame, axis: Axis, low: float, high: float, step: float, side: Literal["left", "right"]
) -> list[str]:
    parts = [f'<g class="axis axis-y{"2" if side == "right" else ""}">']
    x_line = LEFT if side == "left" else LEFT + frame.plot_w
    parts.append(f'<line x1="{x_line}" x2="{x_line}" y1="{TOP}" y2="{TOP + frame.plot_h}" stroke="#999"/>')
    tick = low
    while tick <= high + step / 2:
        y = TOP + (high - tick) / (high - low) * frame.plot_h
        if side == "left":
            parts.append(f'<line x1="{LEFT}" x2="{LEFT + frame.plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
            parts.append(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">'
                f"{escape(format_value(tick, Axis('', percent=axis.percent)))}</text>"
            )
        else:
            parts.append(
                f'<text x="{x_line + 6}" y="{y + 4:.1f}" fill="{TEXT}">'
                f"{escape(format_value(tick, Axis('', percent=axis.percent)))}</text>"
            )
        tick += step
    middle = TOP + frame.plot_h / 2
    if side == "left":
        parts.append(
            f'<text class="axis-label" transform="translate(14 {middle:.0f}) rotate(-90)" text-anchor="middle" '
            f'fill="{TEXT}">{escape(axis.label)}</text>'
        )
    else:
        label_x = x_line + 44
        parts.append(
            f'<text class="axis-label" transform="translate({label_x} {middle:.0f}) rotate(90)" '
            f'text-anchor="middle" fill="{TEXT}">{escape(axis.label)}</text>'
        )
    parts.append("</g>")
    return parts


def _x_axis(frame: _Frame, x_labels: Sequence[str], x_axis_label: str) -> list[str]:
    parts = ['<g class="axis axis-x">']
    bottom = TOP + frame.plot_h
    parts.append(f'<line x1="{LEFT}" x2="{LEFT + frame.plot_w}" y1="{bottom}" y2="{bottom}" stroke="#999"/>')
    every = max(1, math.ceil(len(x_labels) / 8))
    for index in range(0, len(x_labels), every):
        x = frame.x(index)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#999"/>')
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="{TEXT}">'
            f"{escape(x_labels[index])}</text>"
        )
    parts.append(
        f'<text class="axis-label" x="{LEFT + frame.plot_w / 2:.0f}" y="{TOP + frame.plot_h + 32}" '
        'text-anchor="middle" '
        f'fill="{TEXT}">{escape(x_axis_label)}</text>'
    )
    parts.append("</g>")
    return parts


def _line(frame: _Frame, series: Series, y_of: _Scale) -> list[str]:
    """Solid runs of consecutive points; dashed bridges over gaps (``bridge_gaps``); dots where a point stands
    alone or the series bridges (so every real value is visible)."""
    parts: list[str] = []
    runs: list[list[tuple[float, float]]] = [[]]
    previous: tuple[float, float] | None = None
    for index, value in enumerate(series.values):
        if value is None or not math.isfinite(value):
            if runs[-1]:
                runs.append([])
            continue
        point = (frame.x(index), y_of(float(value)))
        if series.bridge_gaps and previous is not None and not runs[-1]:
            parts.append(
                f'<line class="gap-bridge" x1="{previous[0]:.1f}" y1="{previous[1]:.1f}" x2="{point[0]:.1f}" '
                f'y2="{point[1]:.1f}" stroke="{series.colour}" stroke-width="1" stroke-dasharray="3,3"/>'
            )
        runs[-1].append(point)
        previous = point
    for run in runs:
        if len(run) >= 2:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(
                f'<polyline fill="none" stroke="{series.colour}" stroke-width="{series.stroke}" points="{coords}"/>'
            )
        if len(run) == 1 or series.bridge_gaps:
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{series.colour}"/>' for x, y in run)
    return parts


class _Scale:
    def __init__(self, low: float, high: float, plot_h: float) -> None:
        self.low, self.high, self.plot_h = low, high, plot_h

    def __call__(self, value: float) -> float:
        return TOP + (self.high - value) / (self.high - self.low) * self.plot_h


def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    x_axis_label: str,
    left: Axis,
    series: Sequence[Series],
    right: Axis | None = None,
    thresholds: Sequence[Threshold] = (),
    width: int = 760,
    height: int = 280,
    empty_message: str = "no data",
    hover_labels: Sequence[str] | None = None,
) -> str:
    """An SVG chart (see the module docstring). ``hover_labels`` (default ``x_labels``) head each tooltip."""
    frame = _Frame(width, height, len(x_labels))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'style="width:100%;max-width:{width * 1.4:.0f}px;height:auto" role="img" aria-label="{escape(title)}" '
        f'font-family="sans-serif" font-size="11"><title>{escape(title)}</title>'
    )
    background = f'<rect x="{LEFT}" y="{TOP}" width="{frame.plot_w}" height="{frame.plot_h}" fill="#fcfcfc"/>'
    left_values = [v for s in series if s.axis == "left" for v in _finite(s.values)]
    right_values = [v for s in series if s.axis == "right" for v in _finite(s.values)]
    parts = [head, background, f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    if not left_values and not right_values:
        low, high, step = 0.0, 1.0, 0.25
        parts += _value_axis(frame, left, low, high, step, "left")
        parts += _x_axis(frame, x_labels, x_axis_label)
        parts.append(
            f'<text class="empty" x="{LEFT + frame.plot_w / 2:.0f}" y="{TOP + frame.plot_h / 2:.0f}" '
            f'text-anchor="middle" font-size="14" fill="#777">{escape(empty_message)}</text></svg>'
        )
        return "".join(parts)

    data_high = max(left_values) if left_values else 1.0
    drawn, above = [], []
    for threshold in thresholds:
        # a threshold far above the data would flatten it: name it at the top edge instead of scaling to it
        (drawn if threshold.value <= max(data_high, 1e-12) * 1.6 or not left_values else above).append(threshold)
    low, high, step = _range(
        left_values + [t.value for t in drawn] + list(left.domain or ()) or [0.0, 1.0], left.include_zero
    )
    y_left = _Scale(low, high, frame.plot_h)
    parts += _value_axis(frame, left, low, high, step, "left")
    y_right: _Scale | None = None
    if right is not None:
        r_low, r_high, r_step = _range(right_values or [0.0, 1.0], right.include_zero)
        y_right = _Scale(r_low, r_high, frame.plot_h)
        parts += _value_axis(frame, right, r_low, r_high, r_step, "right")
    parts += _x_axis(frame, x_labels, x_axis_label)

    for item in series:
        scale = y_right if item.axis == "right" and y_right is not None else y_left
        if item.kind == "bars":
            bar_w = max(frame.step * 0.7, 0.8)
            base = scale(max(scale.low, 0.0))
            for index, value in enumerate(item.values):
                if value is None or not math.isfinite(value) or value == 0:
                    continue
                y = scale(float(value))
                parts.append(
                    f'<rect class="bar" x="{frame.x(index) - bar_w / 2:.1f}" y="{min(y, base):.1f}" '
                    f'width="{bar_w:.1f}" height="{abs(base - y):.1f}" fill="{item.colour}"/>'
                )
        else:
            parts += _line(frame, item, scale)

    label_floor = math.inf
    for threshold in sorted(drawn, key=lambda t: -t.value):  # top line first; labels pushed apart going down
        y = y_left(threshold.value)
        label_y = max(y - 3, TOP + 10)
        if label_y > label_floor - 11:
            label_y = label_floor - 11 if label_floor - 11 > TOP + 4 else label_floor + 11
        label_floor = label_y
        parts.append(
            f'<g class="threshold"><line x1="{LEFT}" x2="{LEFT + frame.plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{threshold.colour}" stroke-dasharray="6,4"/><text x="{LEFT + frame.plot_w - 4}" '
            f'y="{label_y:.1f}" text-anchor="end" fill="{threshold.colour}">{escape(threshold.label)}</text></g>'
        )
    if above:  # named under the chart: drawn to scale they would flatten the data
        notes = "".join(
            f'<tspan fill="{t.colour}">{"  ·  " if n else ""}▲ {escape(t.label)}</tspan>' for n, t in enumerate(above)
        )
        parts.append(
            f'<text class="threshold threshold-above" x="{LEFT}" y="{height - 4}">Above the chart: {notes}</text>'
        )

    # the last value of each line, written at its end (right margin), and a legend under the title
    ends: list[tuple[float, str, str]] = []
    for n, item in enumerate(series):
        axis = right if item.axis == "right" and right is not None else left
        legend_x = LEFT + n * 130
        parts.append(f'<rect x="{legend_x}" y="{LEGEND_Y}" width="12" height="5" fill="{item.colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="{LEGEND_Y + 5}" fill="#333">{escape(item.label)}</text>')
        last = next(
            ((i, v) for i, v in reversed(list(enumerate(item.values))) if v is not None and math.isfinite(v)), None
        )
        if last is None or item.kind == "bars":
            continue
        scale = y_right if item.axis == "right" and y_right is not None else y_left
        ends.append((scale(float(last[1])) + 4, format_value(float(last[1]), axis), item.colour))
    label_x = LEFT + frame.plot_w + (64 if right is not None else 6)
    previous_y = -math.inf
    for y, text, colour in sorted(ends):
        y = max(y, previous_y + 12)  # labels of lines ending close together do not overprint
        previous_y = y
        parts.append(f'<text class="last-value" x="{label_x}" y="{y:.1f}" fill="{colour}">{escape(text)}</text>')

    # hover: one transparent column per x position whose tooltip lists every series' value there
    tips = hover_labels or x_labels
    for index in range(len(x_labels)):
        lines = [tips[index]]
        for item in series:
            axis = right if item.axis == "right" and right is not None else left
            value = item.values[index] if index < len(item.values) else None
            shown = "—" if value is None or not math.isfinite(value) else format_value(float(value), axis)
            lines.append(f"{item.label}: {shown}")
        parts.append(
            f'<rect class="hover" x="{LEFT + index * frame.step:.1f}" y="{TOP}" width="{frame.step:.2f}" '
            f'height="{frame.plot_h}" fill="transparent"><title>{escape(chr(10).join(lines))}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)

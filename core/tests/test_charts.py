"""The console's chart helper: axes with units, time labels, thresholds, hover values, empty state, gaps."""

from __future__ import annotations

import re

from core.charts import Axis, Series, Threshold, format_value, line_chart

MINUTES = [f"10:{m:02d}" for m in range(60)]


def _chart(**overrides: object) -> str:
    values: list[float | None] = [None if m % 7 == 3 else 40.0 + m for m in range(60)]
    arguments: dict[str, object] = {
        "title": "API latency p95",
        "x_labels": MINUTES,
        "x_axis_label": "time (UTC)",
        "left": Axis("p95 of api.latency_ms per minute (ms)", unit="ms"),
        "right": Axis("samples per minute"),
        "series": [
            Series("samples / min", [float(m % 5) for m in range(60)], "#ccc", axis="right", kind="bars"),
            Series("p95", values, "#1565c0", bridge_gaps=True),
        ],
        "thresholds": [Threshold(90.0, "warning > 90 ms", "#f9a825"), Threshold(2000.0, "critical > 2000 ms")],
    }
    arguments.update(overrides)
    return line_chart(**arguments)  # type: ignore[arg-type]


def test_axes_units_and_time_labels() -> None:
    svg = _chart()
    assert svg.startswith("<svg") and svg.endswith("</svg>") and 'viewBox="0 0 760 280"' in svg
    assert 'class="axis axis-y"' in svg and 'class="axis axis-y2"' in svg and 'class="axis axis-x"' in svg
    labels = re.findall(r'class="axis-label"[^>]*>([^<]+)<', svg)
    assert labels == ["p95 of api.latency_ms per minute (ms)", "samples per minute", "time (UTC)"]
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)<', svg)
    assert ticks[0] == "10:00" and len(ticks) <= 9


def test_thresholds_hover_and_last_value() -> None:
    svg = _chart()
    assert 'class="threshold"' in svg and "warning &gt; 90 ms" in svg
    assert "Above the chart: <tspan" in svg and "▲ critical &gt; 2000 ms</tspan>" in svg  # not flattening the data
    assert svg.count('class="hover"') == 60
    assert "<title>10:58\nsamples / min: 3\np95: 98 ms</title>" in svg
    assert "<title>10:59\nsamples / min: 4\np95: —</title>" in svg  # a missing minute says so
    assert re.search(r'class="last-value"[^>]*>98 ms<', svg)


def test_gaps_are_bridged_so_a_p95_line_never_falls_apart() -> None:
    svg = _chart()
    assert svg.count('class="gap-bridge"') == 8  # gaps at minutes 3, 10, … 52 (59 ends the series: no bridge)
    assert svg.count("<circle") == sum(1 for m in range(60) if m % 7 != 3)


def test_empty_state_names_what_is_missing() -> None:
    svg = _chart(series=[Series("p95", [None] * 60, "#1565c0")], empty_message="no data in the last hour")
    assert 'class="empty"' in svg and "no data in the last hour" in svg and 'class="axis axis-x"' in svg
    assert "<polyline" not in svg


def test_text_is_escaped() -> None:
    svg = _chart(title="<script>alert(1)</script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_format_value() -> None:
    assert format_value(0.0512, Axis("share", percent=True)) == "5.12%"
    assert format_value(1234.5, Axis("ms", unit="ms")) == "1,234 ms"  # banker's rounding of .5
    assert format_value(3.7e-69) == "0" and format_value(0.6, Axis("", percent=True)) == "60%"  # display values

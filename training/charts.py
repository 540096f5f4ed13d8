"""The fitness / fatigue / form chart of an athlete, drawn with the console's chart helper (``core.charts``).

CTL (fitness, blue), ATL (fatigue, magenta) and TSB (form, orange) on the left axis in TRIMP points per day;
daily loads as grey bars on the labelled right axis (TRIMP per day, its own scale). Pure: arrays in, SVG out.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from core.charts import Axis, Series, line_chart

FloatArray = npt.NDArray[np.float64]

COLOURS = {"ctl": "#1565c0", "atl": "#ad1457", "tsb": "#ef6c00", "load": "#b0bec5"}
NO_DATA = "no activities with a TRIMP in this period"


def _values(array: FloatArray) -> list[float | None]:
    return [None if v != v else v for v in array.tolist()]


def pmc_chart_svg(
    *,
    first_day: date,
    load: FloatArray,
    ctl: FloatArray,
    atl: FloatArray,
    tsb: FloatArray,
    width: int = 960,
    height: int = 340,
    empty_message: str = NO_DATA,
) -> str:
    """An SVG chart of the series (equal-length arrays, one value per day from ``first_day``). Without any load
    and with CTL/ATL at zero the chart says ``empty_message`` instead of drawing flat lines."""
    days = int(load.size)
    if days == 0:
        return line_chart(
            title="Fitness, fatigue and form",
            x_labels=[],
            x_axis_label="day",
            left=Axis("CTL / ATL / TSB (TRIMP per day)"),
            series=[],
            empty_message="no days",
            width=width,
            height=height,
        )
    labels = [(first_day + timedelta(days=n)).isoformat() for n in range(days)]
    quiet = not np.any(np.nan_to_num(load) > 0) and not np.any(np.abs(np.nan_to_num(ctl)) >= 0.05)
    series = (
        []
        if quiet
        else [
            Series("daily load", _values(load), COLOURS["load"], axis="right", kind="bars"),
            Series("TSB form", _values(tsb), COLOURS["tsb"], stroke=1.6),
            Series("ATL fatigue", _values(atl), COLOURS["atl"], stroke=1.6),
            Series("CTL fitness", _values(ctl), COLOURS["ctl"], stroke=2.2),
        ]
    )
    return line_chart(
        title="Fitness, fatigue and form",
        x_labels=labels,
        x_axis_label="day (athlete's local date)",
        left=Axis("CTL / ATL / TSB (TRIMP per day)", unit="TRIMP"),
        right=Axis("daily load (TRIMP)", unit="TRIMP"),
        series=series,
        width=width,
        height=height,
        empty_message=empty_message,
    )

"""Straightforward per-sample Python implementations of the definitions, written independently of the
vectorised engine: the oracle for the tests and the baseline for ``bench/bench_engine.py``.

Not for production use (slow by design). Units as in the engine: seconds, bpm, TRIMP points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def clean(times: Sequence[float | None], hrs: Sequence[float | None]) -> tuple[list[float], list[float], int]:
    """(valid times, valid hrs, count of timestamped samples) by the cleaning rules, one sample at a time."""
    latest: dict[float, float | None] = {}
    for t, hr in zip(times, hrs, strict=True):
        if t is None or not math.isfinite(t):
            continue
        latest[t] = hr  # a later sample with the same timestamp replaces the earlier one
    valid_t: list[float] = []
    valid_h: list[float] = []
    for t in sorted(latest):
        hr = latest[t]
        if hr is not None and not math.isnan(hr) and 25 <= hr <= 250:
            valid_t.append(t)
            valid_h.append(hr)
    return valid_t, valid_h, len(latest)


def weight(x: float, sex: str) -> float:
    """Banister's weighting for one intensity ``x``."""
    male = 0.64 * math.exp(1.92 * x)
    female = 0.86 * math.exp(1.67 * x)
    if sex == "male":
        return male
    if sex == "female":
        return female
    return (male + female) / 2


def loop_trimps(
    times: Sequence[float | None],
    hrs: Sequence[float | None],
    *,
    rest: float,
    max_hr: float,
    sex: str,
    max_gap_s: float = 30.0,
) -> tuple[float, float, float]:
    """Return (stream Banister TRIMP, Edwards TRIMP, credited seconds) with a plain loop."""
    valid_t, valid_h, _ = clean(times, hrs)
    banister = 0.0
    edwards = 0.0
    credited = 0.0
    for i in range(1, len(valid_t)):
        dt = valid_t[i] - valid_t[i - 1]
        if not 0 < dt <= max_gap_s:
            continue
        h = (valid_h[i] + valid_h[i - 1]) / 2
        credited += dt
        x = max(0.0, (h - rest) / (max_hr - rest))
        banister += dt / 60 * x * weight(x, sex)
        ratio = h / max_hr
        factor = 0
        for k, edge in enumerate((0.5, 0.6, 0.7, 0.8, 0.9), start=1):
            if ratio >= edge - 1e-12:
                factor = k
        edwards += factor * dt / 60
    return banister, edwards, credited


def loop_pmc(
    loads: Sequence[float],
    *,
    ctl_seed: float = 0.0,
    atl_seed: float = 0.0,
    ctl_days: float = 42.0,
    atl_days: float = 7.0,
) -> list[dict[str, float]]:
    """Day-by-day CTL/ATL/TSB/ACWR/monotony/strain with a plain loop (NaN = undefined)."""
    k_c = 1 - math.exp(-1 / ctl_days)
    k_a = 1 - math.exp(-1 / atl_days)
    ctl, atl = ctl_seed, atl_seed
    rows: list[dict[str, float]] = []
    for d, load in enumerate(loads):
        tsb = ctl - atl
        ctl = ctl + (load - ctl) * k_c
        atl = atl + (load - atl) * k_a
        acwr = atl / ctl if ctl >= 1e-9 else math.nan
        monotony = strain = math.nan
        if d >= 6:
            week = loads[d - 6 : d + 1]
            mean = sum(week) / 7
            sd = math.sqrt(sum((v - mean) ** 2 for v in week) / 7)
            if max(week) != min(week):
                monotony = mean / sd
                strain = sum(week) * monotony
        row = {"ctl": ctl, "atl": atl, "tsb": tsb, "acwr": acwr, "monotony": monotony, "strain": strain}
        rows.append(row)
    return rows

"""Performance management: fitness (CTL), fatigue (ATL), form (TSB), ACWR, Foster monotony and strain.

Input: daily loads ``L_d`` (TRIMP points per local calendar day, 0 on days without activities), oldest first,
one entry per consecutive day. With ``k = 1 - exp(-1 / time_constant_days)``:

* ``CTL_d = CTL_{d-1} + (L_d - CTL_{d-1}) * k_c`` and ``ATL_d`` likewise with ``k_a``; the seeds ``CTL_0``,
  ``ATL_0`` are the values on the day *before* the first day;
* ``TSB_d = CTL_{d-1} - ATL_{d-1}`` (form entering day d, TrainingPeaks' convention);
* ``ACWR_d = ATL_d / CTL_d``, undefined (NaN) while ``CTL_d < 1e-9``;
* Foster monotony on day d = mean / sd of ``L`` over days ``d-6 .. d``, with the **population** standard
  deviation (ddof = 0, as Foster's worksheets and TrainingPeaks-style tools compute it), undefined (NaN) when
  sd = 0 (all seven loads equal) and for the first six days (no full week in the input: pass the six
  preceding days' loads too and drop them if you need a value there); strain = 7-day sum × monotony,
  undefined when monotony is.

The recursion runs as a first-order IIR filter (``scipy.signal.lfilter``), the weekly statistics on a
sliding-window view, so ten years of days take well under a millisecond.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

FloatArray = npt.NDArray[np.float64]

DEFAULT_CTL_DAYS = 42.0
DEFAULT_ATL_DAYS = 7.0
ACWR_MIN_CTL = 1e-9
# No real day comes near this (a week-long activity scores well under 100,000 TRIMP points); beyond it the
# weekly sums of squares could overflow, so such loads are refused rather than turned into infinities.
MAX_DAILY_LOAD = 1e6
MONOTONY_WINDOW_DAYS = 7


@dataclass(frozen=True, slots=True, eq=False)
class PMCSeries:
    """Day-by-day series aligned with the input loads (arrays of the same length; NaN = undefined).

    ``ctl``/``atl``/``tsb`` in TRIMP points per day, ``acwr`` and ``monotony`` dimensionless, ``strain`` in
    TRIMP points. ``ctl_seed``/``atl_seed`` and the time constants (days) record what produced them.
    """

    loads: FloatArray
    ctl: FloatArray
    atl: FloatArray
    tsb: FloatArray
    acwr: FloatArray
    monotony: FloatArray
    strain: FloatArray
    ctl_seed: float
    atl_seed: float
    ctl_days: float
    atl_days: float


def decay_factor(time_constant_days: float) -> float:
    """``k = 1 - exp(-1 / time_constant_days)``: the share of today's load that enters the average."""
    if not (math.isfinite(time_constant_days) and time_constant_days > 0):
        raise ValueError(f"time constant must be a positive number of days, got {time_constant_days!r}")
    return -math.expm1(-1.0 / time_constant_days)


def exponential_load(loads: npt.ArrayLike, time_constant_days: float, seed: float = 0.0) -> FloatArray:
    """``y_d = y_{d-1} + (L_d - y_{d-1}) * k`` for every day; ``y`` is ``seed`` on the day before day 0."""
    values = _as_loads(loads)
    k = decay_factor(time_constant_days)
    if values.size == 0:
        return values.copy()
    # Not at the top: importing scipy.signal costs ~1.5 s of CPU, paid by every Django process (web, worker,
    # test run) at start-up otherwise; only the load-series path needs it.
    from scipy.signal import lfilter

    # Direct form II transposed: y[n] = k*x[n] + z[n-1], z[n] = (1-k)*y[n]; z[-1] = (1-k)*seed.
    filtered, _ = lfilter([k], [1.0, -(1.0 - k)], values, zi=[(1.0 - k) * float(seed)])
    return np.asarray(filtered, dtype=np.float64)


def foster_monotony(loads: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Foster monotony (mean / population sd over the last 7 days) and strain (7-day sum × monotony).

    Both are NaN for the first six days and wherever the seven loads are all equal (sd = 0).
    """
    values = _as_loads(loads)
    monotony = np.full(values.size, np.nan)
    strain = np.full(values.size, np.nan)
    if values.size < MONOTONY_WINDOW_DAYS:
        return monotony, strain
    weeks = sliding_window_view(values, MONOTONY_WINDOW_DAYS)
    week_sum = weeks.sum(axis=1)
    mean = week_sum / MONOTONY_WINDOW_DAYS
    sd = np.sqrt(((weeks - mean[:, None]) ** 2).mean(axis=1))
    # "sd = 0" decided exactly (all seven equal) rather than by a float tolerance on the computed sd.
    varied = weeks.max(axis=1) > weeks.min(axis=1)
    week_monotony = np.full(mean.size, np.nan)
    np.divide(mean, sd, out=week_monotony, where=varied)
    monotony[MONOTONY_WINDOW_DAYS - 1 :] = week_monotony
    strain[MONOTONY_WINDOW_DAYS - 1 :] = week_sum * week_monotony
    return monotony, strain


def compute_pmc(
    loads: npt.ArrayLike,
    *,
    ctl_seed: float = 0.0,
    atl_seed: float = 0.0,
    ctl_days: float = DEFAULT_CTL_DAYS,
    atl_days: float = DEFAULT_ATL_DAYS,
) -> PMCSeries:
    """CTL, ATL, TSB, ACWR, monotony and strain for consecutive daily ``loads`` (oldest first).

    Raises ``ValueError`` for a non-finite, negative or absurd (> ``MAX_DAILY_LOAD``) load, non-finite seeds or
    non-positive time constants: it never returns an infinite value.
    """
    values = _as_loads(loads)
    for name, seed in (("ctl_seed", ctl_seed), ("atl_seed", atl_seed)):
        if not math.isfinite(seed):
            raise ValueError(f"{name} must be finite, got {seed!r}")
    ctl = exponential_load(values, ctl_days, ctl_seed)
    atl = exponential_load(values, atl_days, atl_seed)
    tsb = np.empty(values.size)
    if values.size:
        tsb[0] = ctl_seed - atl_seed
        np.subtract(ctl[:-1], atl[:-1], out=tsb[1:])
    acwr = np.full(values.size, np.nan)
    np.divide(atl, ctl, out=acwr, where=ctl >= ACWR_MIN_CTL)
    if not (np.isfinite(ctl).all() and np.isfinite(atl).all()):
        raise ValueError("fitness/fatigue overflowed: the daily loads are out of range")
    monotony, strain = foster_monotony(values)
    return PMCSeries(
        loads=values,
        ctl=ctl,
        atl=atl,
        tsb=tsb,
        acwr=acwr,
        monotony=monotony,
        strain=strain,
        ctl_seed=float(ctl_seed),
        atl_seed=float(atl_seed),
        ctl_days=float(ctl_days),
        atl_days=float(atl_days),
    )


def _as_loads(loads: npt.ArrayLike) -> FloatArray:
    values = np.asarray(loads, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"daily loads must be one-dimensional, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("daily loads must be finite numbers")
    if (values < 0).any():
        raise ValueError("daily loads must not be negative")
    if (values > MAX_DAILY_LOAD).any():
        raise ValueError(f"daily loads must not exceed {MAX_DAILY_LOAD:g} TRIMP points")
    return values

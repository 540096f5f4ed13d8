"""Synthetic heart-rate sessions from a simple physiological response model (pure: numpy and scipy).

The athlete's heart rate follows a target intensity (a fraction of heart-rate reserve) with first-order
kinetics (time constant ~35 s), plus cardiac drift, breathing-scale noise, warm-up and cool-down ramps,
interval blocks, and the recording artefacts real files have: strap dropouts (missing HR), pauses (gaps in
time), "smart recording" (irregular sampling) and, now and then, a strap that barely worked. Used by the
demo data and the benchmarks; deterministic for a given random generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

KINDS: tuple[str, ...] = ("recovery", "easy", "long", "tempo", "intervals")
BASE_INTENSITY = {"recovery": 0.45, "easy": 0.58, "long": 0.62, "tempo": 0.78, "intervals": 0.55}
WORK_INTENSITY = 0.9
TAU_S = 35.0
DRIFT_PER_HOUR = 0.04  # of heart-rate reserve


@dataclass(frozen=True, eq=False)
class Session:
    """Samples (``times`` s from the start, ``hrs`` bpm with NaN for missing) and the session's summary."""

    kind: str
    times: FloatArray
    hrs: FloatArray
    timer_seconds: float
    elapsed_seconds: float

    @property
    def average_hr(self) -> float | None:
        valid = self.hrs[np.isfinite(self.hrs)]
        return float(np.round(valid.mean())) if valid.size else None


def _target(kind: str, seconds: int, rng: np.random.Generator) -> FloatArray:
    t = np.arange(seconds, dtype=np.float64)
    base = BASE_INTENSITY[kind] + rng.normal(0, 0.02)
    target = np.full(seconds, base)
    if kind == "intervals":
        work, rest = int(rng.integers(150, 300)), int(rng.integers(90, 180))
        start = 600
        while start + work < seconds - 420:
            target[start : start + work] = WORK_INTENSITY + rng.normal(0, 0.02)
            start += work + rest
    warmup = min(600, seconds // 4)
    target[:warmup] = np.linspace(0.3, base, warmup)
    cooldown = min(300, seconds // 6)
    target[seconds - cooldown :] = np.linspace(target[seconds - cooldown - 1], 0.35, cooldown)
    target += DRIFT_PER_HOUR * t / 3600.0
    return target


def simulate_session(
    rng: np.random.Generator,
    *,
    rest: float,
    max_hr: float,
    kind: str = "easy",
    duration_s: int = 3600,
) -> Session:
    """One session of about ``duration_s`` seconds for an athlete with resting/max HR ``rest``/``max_hr``."""
    # Not at the top: scipy.signal costs ~1.5 s of CPU to import and this module is imported by the demo
    # seeder in every Django process; only generating a session needs it.
    from scipy.signal import lfilter

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    # Imported here: scipy.signal costs ~2.5 s at import and this module is imported by the demo seeder's
    # registration, i.e. by every manage.py command, while only seeding and benchmarks simulate sessions.

    seconds = max(int(duration_s), 120)
    target = _target(kind, seconds, rng)
    k = 1.0 - math.exp(-1.0 / TAU_S)
    start = 0.25
    response, _ = lfilter([k], [1.0, -(1.0 - k)], target, zi=[(1.0 - k) * start])
    noise = lfilter([0.3], [1.0, -0.7], rng.normal(0, 1.6, seconds))
    hr = rest + response * (max_hr - rest) + noise
    hrs = np.round(np.clip(hr, 35, 235))
    times = np.arange(seconds, dtype=np.float64)

    # Strap dropouts: short runs of missing samples.
    for _ in range(int(rng.poisson(0.8))):
        at = int(rng.integers(0, seconds - 10))
        hrs[at : at + int(rng.integers(5, 90))] = np.nan
    # Now and then a strap that barely worked: most of the session without HR.
    if rng.random() < 0.04:
        lost_from = int(seconds * rng.uniform(0.1, 0.3))
        hrs[lost_from:] = np.nan
    # Smart recording: keep irregular samples 1..6 s apart.
    if rng.random() < 0.25:
        keep = np.cumsum(rng.integers(1, 7, seconds))
        keep = keep[keep < seconds]
        times, hrs = times[keep], hrs[keep]
    timer = float(times[-1] - times[0])
    # A pause: the clock jumps; the timer (moving) time does not count it.
    if rng.random() < 0.2 and times.size > 10:
        at = int(rng.integers(times.size // 4, 3 * times.size // 4))
        times = times.copy()
        times[at:] += float(rng.integers(120, 900))
    return Session(kind=kind, times=times, hrs=hrs, timer_seconds=timer, elapsed_seconds=float(times[-1] - times[0]))


def weekly_kinds(rng: np.random.Generator) -> list[str | None]:
    """A week of sessions (None = rest day): two rest days, one quality session, one long one."""
    week: list[str | None] = ["easy", "intervals", "recovery", "tempo", None, "long", None]
    if rng.random() < 0.3:
        week[2] = None
    if rng.random() < 0.2:
        week[4] = "easy"
    return week


def duration_for(kind: str, rng: np.random.Generator) -> int:
    minutes = {"recovery": 35, "easy": 55, "long": 100, "tempo": 60, "intervals": 65}[kind]
    return int(minutes * 60 * rng.uniform(0.8, 1.25))

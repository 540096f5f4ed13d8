"""Literature priors for the readiness model and the feature definitions, in one config module (pure).

Used as ``μ, Σ, σ²`` until there is a population to fit (fewer than ``READINESS_MIN_POPULATION_ATHLETES``
athletes with ``READINESS_LEARNING_SESSIONS`` sessions). Outcome: session quality on the 1–10 scale.
The features (``FEATURES``, in this order) are the intercept, the check-in items centred on the athlete's own
running mean (so a coefficient is "per unit above your usual"), and form (TSB) per 10 load units.

Conversions from the published effects to 1–10 quality points assume a typical session quality of 6.5, so
1 % of performance ≈ 0.065 points. The uncertainty (prior SD) is wide on purpose: these are starting points.

Citations:
- [CRAVEN2022] Craven J, McCartney D, Desbrow B, et al. Effects of acute sleep loss on physical performance:
  a systematic and meta-analytic review. Sports Med. 2022;52(11):2669–2690. 69 studies; ≤ 6 h of sleep ≈
  −7.6 % performance. Read as ≈ −7.6 % for ~1.5 h below the usual night → ≈ +0.33 points per extra hour.
- [GALLO2016] Gallo TF, Cormack SJ, Gabbett TJ, Lorenzen CH. Pre-training perceived wellness impacts training
  output in Australian football players. J Sports Sci. 2016;34(15):1445–1451. A within-athlete wellness
  z-score of −1 ≈ −5 % session output (≈ 0.33 points); a 1–5 item has a within-athlete SD of ~0.8, so
  ≈ 0.4 points per scale step for energy, and the opposite sign for stress and soreness.
- [BANISTER1975] Banister EW, Calvert TW, Savage MV, Bach T. A systems model of training for athletic
  performance. Aust J Sports Med. 1975;7:57–61. Performance rises with form (fitness − fatigue); a small
  positive effect per 10 units of TSB, with wide uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planning.readiness.model import FloatArray

FEATURES: tuple[str, ...] = ("intercept", "sleep_hours", "energy_level", "stress_level", "soreness", "form")

PLAIN_WORDS: dict[str, str] = {
    "intercept": "session quality on a usual day (all check-in items at your own average, form 0)",
    "sleep_hours": "quality points per hour of sleep above your usual",
    "energy_level": "quality points per step of energy (1–5) above your usual",
    "stress_level": "quality points per step of stress (1–5) above your usual",
    "soreness": "quality points per step of soreness (1–5) above your usual",
    "form": "quality points per 10 units of form (TSB, fitness minus fatigue)",
}

FORM_SCALE = 10.0  # TSB is divided by this so its coefficient is "per 10 units" (keeps Σ well scaled)


@dataclass(frozen=True)
class Prior:
    """Prior mean and SD of one coefficient (quality points per unit), with its source."""

    mean: float
    sd: float
    citation: str


PRIORS: dict[str, Prior] = {
    "intercept": Prior(6.5, 1.5, "scale midpoint of a usual session; between-athlete SD assumed"),
    "sleep_hours": Prior(0.33, 0.3, "CRAVEN2022"),
    "energy_level": Prior(0.4, 0.4, "GALLO2016"),
    "stress_level": Prior(-0.4, 0.4, "GALLO2016"),
    "soreness": Prior(-0.4, 0.4, "GALLO2016"),
    "form": Prior(0.1, 0.2, "BANISTER1975"),
}
RESIDUAL_SD = 1.5  # quality points: session-to-session noise around an athlete's prediction (assumed)


def literature_parameters() -> tuple[FloatArray, FloatArray, float]:
    """``μ``, ``Σ`` (diagonal) and ``σ²`` from the priors above, in ``FEATURES`` order."""
    mu = np.array([PRIORS[name].mean for name in FEATURES])
    Sigma = np.diag([PRIORS[name].sd ** 2 for name in FEATURES])
    return mu, Sigma, RESIDUAL_SD**2

"""Pure parts of the engine: rules on a check-in and recent load, recommendations from a prediction and load,
and the statistical context of an athlete's history. No Django imports; numbers in, dataclasses/dicts out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the engine caches it (see ``models.Rule``)."""

    name: str
    field: str
    operator: str
    threshold: float
    action: str
    message: str
    priority: int
    overrides_model: bool
    adjust_volume_pct: float = 0.0
    adjust_intensity_pct: float = 0.0


@dataclass(frozen=True)
class CheckInValues:
    sleep_hours: float
    energy_level: int
    stress_level: int
    soreness: int | None = None
    motivation: int | None = None
    pain_reported: bool = False


@dataclass(frozen=True)
class LoadState:
    """Training load on the day: ACWR (ATL/CTL) and form (TSB = CTL − ATL); NaN = unknown."""

    acwr: float
    tsb: float
    ctl: float
    atl: float


def _value(field: str, checkin: CheckInValues, load: LoadState) -> float | bool | None:
    if field == "acwr":
        return None if math.isnan(load.acwr) else load.acwr
    if field == "tsb":
        return None if math.isnan(load.tsb) else load.tsb
    value = getattr(checkin, field, None)
    return value if value is None or isinstance(value, bool) else float(value)


def rule_fires(rule: RuleSpec, checkin: CheckInValues, load: LoadState) -> bool:
    """Whether the rule's condition holds; a missing value (no soreness given, no load history) never fires."""
    value = _value(rule.field, checkin, load)
    if value is None:
        return False
    if rule.operator == "is_true":
        return bool(value)
    number = float(value)
    return {
        "lt": number < rule.threshold,
        "lte": number <= rule.threshold,
        "gt": number > rule.threshold,
        "gte": number >= rule.threshold,
    }.get(rule.operator, False)


def fired_rules(rules: Sequence[RuleSpec], checkin: CheckInValues, load: LoadState) -> list[RuleSpec]:
    """The rules that fire, highest priority first."""
    return sorted((r for r in rules if rule_fires(r, checkin, load)), key=lambda r: (-r.priority, r.name))


def rule_view(rule: RuleSpec) -> dict[str, object]:
    return {
        "rule": rule.name,
        "action": rule.action,
        "message": rule.message,
        "priority": rule.priority,
        "overrides_model": rule.overrides_model,
    }


def override_recommendations(rule: RuleSpec, fired: Sequence[RuleSpec]) -> dict[str, object]:
    """The answer when an override rule fires: its action, nothing from the model."""
    return {
        "session_type": rule.action,
        "volume_adjustment_pct": -100.0 if rule.action == "rest" else rule.adjust_volume_pct,
        "intensity_adjustment_pct": -100.0 if rule.action == "rest" else rule.adjust_intensity_pct,
        "override": rule_view(rule),
        "rules": [rule_view(r) for r in fired],
        "watch": [rule.message],
    }


def model_recommendations(
    predicted: float,
    low: float,
    checkin: CheckInValues,
    load: LoadState,
    fired: Sequence[RuleSpec],
    deviations: dict[str, float],
) -> dict[str, object]:
    """Session type and volume/intensity adjustments (percent of plan) from the predicted quality and load.

    Bands of predicted quality (1–10): ≥ 7 go as planned (a key session is fine); 5–7 keep the session but trim
    it; < 5 make it easy. High ACWR (> 1.3, the "danger zone" edge of Gabbett 2016) trims volume; deep
    negative form (TSB < −20) trims intensity. Non-override rules add their adjustments.
    """
    if predicted >= 7.0:
        session_type, volume, intensity = "as_planned", 0.0, 0.0
    elif predicted >= 5.0:
        session_type, volume, intensity = "moderate", -10.0, -10.0
    else:
        session_type, volume, intensity = "easy", -30.0, -25.0
    watch: list[str] = []
    if not math.isnan(load.acwr) and load.acwr > 1.3:
        volume -= 10.0
        watch.append(f"acute load is {load.acwr:.2f}× chronic: keep volume down")
    if not math.isnan(load.tsb) and load.tsb < -20:
        intensity -= 10.0
        watch.append(f"form is {load.tsb:.0f} (fatigued): keep intensity down")
    for rule in fired:
        volume += rule.adjust_volume_pct
        intensity += rule.adjust_intensity_pct
        watch.append(rule.message)
    for item, delta in deviations.items():
        if item == "sleep_hours" and delta <= -1.0:
            watch.append(f"you slept {-delta:.1f} h less than usual")
        elif item in ("stress_level", "soreness") and delta >= 1.0:
            watch.append(f"{item.replace('_level', '')} is {delta:.1f} above your usual")
        elif item == "energy_level" and delta <= -1.0:
            watch.append(f"energy is {-delta:.1f} below your usual")
    if low < 4.0:
        watch.append("the prediction is uncertain on the low side: stop early if it feels flat")
    return {
        "session_type": session_type,
        "volume_adjustment_pct": max(volume, -100.0),
        "intensity_adjustment_pct": max(intensity, -100.0),
        "override": None,
        "rules": [rule_view(r) for r in fired],
        "watch": watch,
    }


def statistical_context(
    quality: Sequence[float], sleep: Sequence[float], energy: Sequence[float], today: CheckInValues
) -> dict[str, object]:
    """Recent averages, today's percentiles in the athlete's own history, the quality trend (points per
    session over the last 10) and the mean quality on similar days (sleep within 1 h and energy within 1).

    The sequences are the athlete's completed sessions with check-ins, oldest first (aligned).
    """
    q = np.asarray(quality, dtype=float)
    s = np.asarray(sleep, dtype=float)
    e = np.asarray(energy, dtype=float)
    if q.size == 0:
        return {"sessions": 0, "recent": None, "percentiles": None, "trend_per_session": None, "similar_days": None}
    recent = slice(-10, None)
    last = q[recent]
    trend = float(np.polyfit(np.arange(last.size), last, 1)[0]) if last.size >= 3 else None
    similar = (np.abs(s - today.sleep_hours) <= 1.0) & (np.abs(e - today.energy_level) <= 1)
    return {
        "sessions": int(q.size),
        "recent": {
            "quality_mean": round(float(last.mean()), 2),
            "sleep_hours_mean": round(float(s[recent].mean()), 2),
            "energy_mean": round(float(e[recent].mean()), 2),
        },
        "percentiles": {
            "sleep_hours": round(float((s <= today.sleep_hours).mean() * 100), 1),
            "energy_level": round(float((e <= today.energy_level).mean() * 100), 1),
        },
        "trend_per_session": None if trend is None else round(trend, 3),
        "similar_days": {
            "sessions": int(similar.sum()),
            "quality_mean": round(float(q[similar].mean()), 2) if similar.any() else None,
        },
    }

"""The athlete's heart-rate profile valid on the activity's date (all values in beats per minute)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from training.engine.errors import HeartRateConfigError

Sex = Literal["male", "female", "unspecified"]
SEXES: tuple[Sex, ...] = ("male", "female", "unspecified")


def _check_bpm(name: str, value: float | None, *, required: bool) -> None:
    if value is None:
        if required:
            raise HeartRateConfigError(f"heart-rate profile has no {name}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HeartRateConfigError(f"heart-rate profile {name} must be a finite number, got {value!r}")
    if not 0 < value <= 300:
        raise HeartRateConfigError(f"heart-rate profile {name} must be in (0, 300] bpm, got {value!r}")


@dataclass(frozen=True, slots=True)
class HRProfile:
    """Resting HR, max HR and sex, plus the optional threshold HR and ventilatory thresholds VT1/VT2.

    Validation (raises :class:`HeartRateConfigError`, code ``TRIMP_002``): every value is a finite number
    in (0, 300] bpm, ``max > rest``, ``sex`` is ``male`` | ``female`` | ``unspecified``, and when both are
    given ``vt1 < vt2``. A profile with only one of VT1/VT2 is valid; Lucia's TRIMP is then not computable.
    """

    rest: float
    max: float
    sex: Sex = "unspecified"
    threshold: float | None = None
    vt1: float | None = None
    vt2: float | None = None

    def __post_init__(self) -> None:
        _check_bpm("rest", self.rest, required=True)
        _check_bpm("max", self.max, required=True)
        if not self.max > self.rest:
            raise HeartRateConfigError(f"max HR ({self.max}) must be above resting HR ({self.rest})")
        if self.sex not in SEXES:
            raise HeartRateConfigError(f"sex must be one of {', '.join(SEXES)}, got {self.sex!r}")
        _check_bpm("threshold", self.threshold, required=False)
        _check_bpm("vt1", self.vt1, required=False)
        _check_bpm("vt2", self.vt2, required=False)
        if self.vt1 is not None and self.vt2 is not None and not self.vt1 < self.vt2:
            raise HeartRateConfigError(f"VT1 ({self.vt1}) must be below VT2 ({self.vt2})")

    @property
    def has_ventilatory_thresholds(self) -> bool:
        """True when both VT1 and VT2 are known, i.e. Lucia's TRIMP is computable."""
        return self.vt1 is not None and self.vt2 is not None


def require_profile(profile: HRProfile | None) -> HRProfile:
    """Return ``profile`` or raise ``TRIMP_002`` when there is none for the activity's date."""
    if profile is None:
        raise HeartRateConfigError("no heart-rate profile for the activity's date")
    if not isinstance(profile, HRProfile):
        raise HeartRateConfigError(f"expected an HRProfile, got {type(profile).__name__}")
    return profile

"""Experiment statistics from summary statistics (n, mean, variance): pure numpy/scipy, no Django.

The definitions are ``docs/statistics.md``'s (anchors: GrowthBook's gbstats, PostHog, R's ``pwr``):

- ``welch_ttest``: Welch's unequal-variance t-test on the absolute difference, or on the relative lift with the
  delta-method standard error; Welch–Satterthwaite degrees of freedom on the absolute variances.
- ``srm_p_value``: chi-square goodness of fit of the assignment counts against the planned weights.
- ``cohens_d``, ``power_ttest`` (exact, noncentral t, as R's ``pwr.t2n.test``), ``sample_size``, ``mde``.
- ``sequential_ci``: an always-valid confidence sequence (Waudby-Smith et al.'s asymptotic confidence sequence,
  the one GrowthBook uses), so that looking at the results every day does not inflate false positives.

Speed: every function works on Python floats and scipy's special-function ufuncs (``stdtr``, ``nctdtr``,
``chdtrc``), not on ``scipy.stats`` distribution objects, whose argument checking costs tens of microseconds a
call; ``bench/bench_experiments.py`` measures both. ``sample_size`` and ``mde`` start from the closed-form
normal approximation of the noncentral t and confirm or refine it with the exact power (two exact evaluations
in the usual case), so their answers are exactly those of a search over ``power_ttest``; when the
approximation is far off (tiny effects, a few units with a power near 1) they fall back to a galloping search
and bisection. Where ``nctdtr`` itself returns NaN (far tails at large noncentralities) the power uses the
reflection ``T_ν,δ = −T_ν,−δ`` or, beyond that, the normal approximation: very large effects have power 1.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from scipy import special

__all__ = [
    "TTestResult",
    "cohens_d",
    "mde",
    "power_ttest",
    "sample_size",
    "sequential_ci",
    "srm_p_value",
    "welch_ttest",
]


class _LazyModule:
    """Stands for a module that is imported on first use: ``rollout.experiments.analysis`` is imported at start-up
    (it registers a job handler), and scipy.special costs every ``manage.py`` command ~0.3 s of CPU.

    The first lookup of a name imports the module and stores the attribute on this object, so every later
    ``special.stdtr`` is a plain instance-attribute hit: no cost per call once warm.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(importlib.import_module(self._name), attribute)
        setattr(self, attribute, value)
        return value


if not TYPE_CHECKING:
    np = _LazyModule("numpy")
    special = _LazyModule("scipy.special")

# Student-t quantile above which the normal is used (df ≥ 1e7: the difference is < 1e-9).
_NORMAL_DOF = 1e7


@dataclass(frozen=True, slots=True)
class TTestResult:
    """``effect`` (absolute difference, or relative lift as a fraction: 0.05 = +5 %), its standard error,
    the two-sided ``1 − alpha`` confidence interval, the two-sided p-value and the Welch degrees of freedom."""

    effect: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    dof: float


_NAN_RESULT = TTestResult(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)


def _t_quantile(q: float, dof: float) -> float:
    """Student-t quantile (inverse CDF) at ``q``."""
    return float(special.stdtrit(dof, q)) if dof < _NORMAL_DOF else float(special.ndtri(q))


def _welch_dof(var_c: float, n_c: float, var_t: float, n_t: float) -> float:
    a = var_c / n_c
    b = var_t / n_t
    denominator = a * a / (n_c - 1) + b * b / (n_t - 1)
    if denominator <= 0:
        return math.inf
    return (a + b) ** 2 / denominator


def welch_ttest(
    mean_c: float,
    var_c: float,
    n_c: float,
    mean_t: float,
    var_t: float,
    n_t: float,
    *,
    alpha: float = 0.05,
    relative: bool = False,
) -> TTestResult:
    """Welch's t-test of treatment against control from summary statistics.

    ``var_*`` is the sample variance (n − 1 denominator) of a mean metric, ``p(1 − p)`` for a proportion.
    Absolute: ``effect = mean_t − mean_c``, ``se² = var_c/n_c + var_t/n_t``. Relative: ``effect = mean_t/mean_c − 1``
    with the delta-method ``se² = var_t/(n_t·mean_c²) + var_c·mean_t²/(n_c·mean_c⁴)``. Degrees of freedom:
    Welch–Satterthwaite on the absolute variances. Returns NaNs when there is nothing to test (an arm with
    fewer than 2 units, zero variance in both arms, or a zero control mean for the relative lift).
    """
    if n_c < 2 or n_t < 2 or var_c < 0 or var_t < 0:
        return _NAN_RESULT
    dof = _welch_dof(var_c, n_c, var_t, n_t)
    if relative:
        if mean_c == 0:
            return _NAN_RESULT
        effect = mean_t / mean_c - 1.0
        se = math.sqrt(var_t / (n_t * mean_c**2) + var_c * mean_t**2 / (n_c * mean_c**4))
    else:
        effect = mean_t - mean_c
        se = math.sqrt(var_c / n_c + var_t / n_t)
    if se == 0 or not math.isfinite(dof):
        return _NAN_RESULT
    t_stat = effect / se
    # stdtr is Student's CDF; the two-sided p-value is twice the lower tail of −|t|.
    p_value = 2.0 * float(special.stdtr(dof, -abs(t_stat)))
    half = _t_quantile(1.0 - alpha / 2.0, dof) * se
    return TTestResult(effect, se, effect - half, effect + half, min(p_value, 1.0), dof)


def srm_p_value(counts: Sequence[float], weights: Sequence[float]) -> float:
    """Chi-square goodness-of-fit p-value of the observed assignment ``counts`` against the planned ``weights``
    (any positive scale). Below 0.001 the experiment has a sample ratio mismatch and its results are not
    trusted. NaN when there are fewer than two arms or no assignments."""
    if len(counts) != len(weights):
        raise ValueError("counts and weights need the same length")
    total = float(sum(counts))
    weight_sum = float(sum(weights))
    if len(counts) < 2 or total <= 0 or weight_sum <= 0:
        return math.nan
    chi2 = 0.0
    for observed, weight in zip(counts, weights, strict=True):
        expected = total * weight / weight_sum
        if expected <= 0:
            if observed > 0:
                return 0.0  # assignments to an arm planned to get none
            continue
        chi2 += (observed - expected) ** 2 / expected
    return float(special.chdtrc(len(counts) - 1, chi2))


def cohens_d(mean_c: float, var_c: float, n_c: float, mean_t: float, var_t: float, n_t: float) -> float:
    """Standardised effect ``(mean_t − mean_c) / pooled_sd`` with
    ``pooled_sd² = ((n_c−1)var_c + (n_t−1)var_t)/(n_c+n_t−2)``; NaN when it is 0 or undefined."""
    if n_c + n_t <= 2:
        return math.nan
    pooled = ((n_c - 1) * var_c + (n_t - 1) * var_t) / (n_c + n_t - 2)
    if pooled <= 0:
        return math.nan
    return (mean_t - mean_c) / math.sqrt(pooled)


def _cdf(dof: float, ncp: float, t: float, value: float | None = None) -> float:
    """P(T_ν,δ ≤ t), with ``value`` the ``nctdtr`` answer when already computed.

    scipy's ``nctdtr`` returns NaN in parts of the far tails: a band of δ ≈ 36–57 just above the critical value
    (ν = 99, δ = 37, where P(T ≤ q) is far below 1e-16), and for every δ beyond ~3.4e9. The reflection
    ``T_ν,δ = −T_ν,−δ`` is finite in the band; beyond it the normal approximation of the noncentral t
    (Abramowitz & Stegun 26.7.10) is used, which there is 0 or 1 to double precision unless ``t`` is of the
    same order as δ."""
    if value is None:
        value = float(special.nctdtr(dof, ncp, t))
    if math.isfinite(value) or math.isnan(ncp):
        return value
    value = 1.0 - float(special.nctdtr(dof, -ncp, -t))
    if math.isfinite(value):
        return value
    return float(special.ndtr((t * (1.0 - 0.25 / dof) - ncp) / math.sqrt(1.0 + t * t / (2.0 * dof))))


# Above this noncentrality the lower tail P(T_ν,δ < −q) ≤ Φ(−δ) < 5e-198 is dropped (not evaluated): it cannot
# change a power, which is at least alpha/2; and the upper tail is read by reflection (``_upper``). One
# noncentral-t evaluation instead of up to three where nctdtr's direct form is NaN.
_NO_LOWER_TAIL_NCP = 30.0


def _upper(dof: float, ncp: float, q: float) -> float:
    """P(T_ν,δ > q). For a large δ as P(T_ν,−δ < −q) (the reflection), which ``nctdtr`` answers where its
    direct form is NaN (δ ≈ 36–57) and without the cancellation of 1 − P(T ≤ q)."""
    if ncp > _NO_LOWER_TAIL_NCP:
        return _cdf(dof, -ncp, -q)
    return 1.0 - _cdf(dof, ncp, q)


def _power_at(ncp: float, dof: float, q: float) -> float:
    """P(T_ν,δ > q) + P(T_ν,δ < −q) for the noncentral t with ``dof`` and ``ncp`` ≥ 0."""
    if ncp > _NO_LOWER_TAIL_NCP:
        return _with_lower(_upper(dof, ncp, q), ncp, dof, q)
    # Both tails in one ufunc call (elementwise the same numbers as two calls, ~30 % less overhead).
    below_q, lower = special.nctdtr(dof, ncp, np.array((q, -q))).tolist()
    return _with_lower(1.0 - _cdf(dof, ncp, q, below_q), ncp, dof, q, lower)


def _with_lower(upper: float, ncp: float, dof: float, q: float, lower: float | None = None) -> float:
    """``upper`` (the upper-tail power) plus the lower tail P(T_ν,δ < −q), clipped to [0, 1]; NaN only for a
    NaN ``ncp``."""
    if ncp > _NO_LOWER_TAIL_NCP:
        lower = 0.0
    elif lower is None or not math.isfinite(lower):
        # P(T < −q) ≤ P(T < 0) = Φ(−δ): the sign of T is that of Z + δ. Bounds the fallbacks, whose far tail
        # can be off (ν = 2, δ = 1e4, q = 1e6: the reflection gives 0.04 for a probability below 1e-300).
        lower = min(_cdf(dof, ncp, -q, lower), float(special.ndtr(-ncp)))
    power = upper + lower
    return min(max(power, 0.0), 1.0) if math.isfinite(power) else power


def power_ttest(d: float, n_c: float, n_t: float, *, alpha: float = 0.05) -> float:
    """Exact two-sided power of the pooled two-sample t-test at effect size ``d`` with ``n_c`` and ``n_t``
    units (R's ``pwr.t2n.test``): with ``ν = n_c + n_t − 2``, ``q = t⁻¹(1 − α/2; ν)`` and the noncentrality
    ``δ = |d|/√(1/n_c + 1/n_t)``, power = P(T_ν,δ > q) + P(T_ν,δ < −q). Sizes may be fractional."""
    if n_c < 1 or n_t < 1 or n_c + n_t <= 2:
        return math.nan
    dof = n_c + n_t - 2.0
    q = float(special.stdtrit(dof, 1.0 - alpha / 2.0))
    return _power_at(abs(d) / math.sqrt(1.0 / n_c + 1.0 / n_t), dof, q)


def _t_quantile_approx(z: float, dof: float) -> float:
    """Cornish–Fisher expansion of the Student-t quantile from the normal one (|error| < 1e-4 for ν ≥ 10):
    only a starting point, never a result."""
    z3 = z * z * z
    return z + (z3 + z) / (4.0 * dof) + (5.0 * z3 * z * z + 16.0 * z3 + 3.0 * z) / (96.0 * dof * dof)


def _ncp_approx(q: float, z_power: float, dof: float) -> float:
    """Noncentrality δ with upper-tail power ``Φ(z_power)`` at the critical value ``q``, from the normal
    approximation of the noncentral t, P(T_ν,δ ≤ t) ≈ Φ((t(1 − 1/4ν) − δ)/√(1 + t²/2ν)) (a starting point)."""
    return q * (1.0 - 0.25 / dof) + z_power * math.sqrt(1.0 + q * q / (2.0 * dof))


def _normal_n(d: float, alpha: float, power: float, ratio: float) -> float:
    """Normal-approximation control size (the starting point of the exact search)."""
    z = float(special.ndtri(1.0 - alpha / 2.0)) + float(special.ndtri(power))
    return (z / abs(d)) ** 2 * (1.0 + 1.0 / ratio)


def _guess_n(d: float, alpha: float, power: float, ratio: float) -> int:
    """Control size from the normal approximation of the noncentral t (two fixed-point steps in ν): within one
    unit of the exact answer for all but tiny samples, so the exact check below usually needs two powers."""
    z_alpha = float(special.ndtri(1.0 - alpha / 2.0))
    z_power = float(special.ndtri(power))
    scale = 1.0 + 1.0 / ratio  # δ² = d²·n_c/scale
    n = _normal_n(d, alpha, power, ratio)
    for _ in range(2):
        dof = max(n * (1.0 + ratio) - 2.0, 1.0)
        delta = _ncp_approx(_t_quantile_approx(z_alpha, dof), z_power, dof)
        n = (delta / abs(d)) ** 2 * scale
    return max(2, math.ceil(n))


def sample_size(d: float, *, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0) -> int:
    """Smallest whole number of control units ``n_c`` such that ``power_ttest(d, n_c, ratio·n_c) ≥ power``
    (the treatment arm gets ``ratio`` times as many; fractional treatment sizes are allowed, as in ``pwr``).
    Raises ValueError for ``d = 0`` (no sample is enough) and for a ``d`` so small that the sample overflows.

    The answer is exact: the guess from the normal approximation is confirmed (usually) with the exact
    ``power_ttest`` at ``n`` and ``n − 1``. At ``n`` the upper tail alone often settles it (the lower tail only
    adds), which saves one noncentral-t evaluation. When the guess is off (tiny samples, or tiny effects, whose
    millions of units move ``nctdtr``'s last digits), a galloping search then bisection finds the answer in
    O(log distance) powers."""
    if d == 0 or not math.isfinite(d):
        raise ValueError("the effect size d must be a non-zero number")
    if not 0 < power < 1 or not 0 < alpha < 1 or ratio <= 0:
        raise ValueError("need 0 < alpha < 1, 0 < power < 1 and ratio > 0")
    try:
        n = _guess_n(d, alpha, power, ratio)
    except (OverflowError, ValueError) as exc:  # (z/d)² beyond floats; ceil(inf)
        raise ValueError(f"the effect size d = {d:g} is too small: the sample size overflows") from exc
    if n > 2 and power_ttest(d, n - 1, ratio * (n - 1), alpha=alpha) >= power:
        # Too many: gallop down from n − 1 until a size fails (or the smallest size, 2, still reaches).
        reaching, step = n - 1, 1
        while reaching > 2 and _reaches(d, max(reaching - step, 2), ratio, alpha, power):
            reaching = max(reaching - step, 2)
            step *= 2
        failing = 1 if reaching == 2 else max(reaching - step, 2)
    elif _reaches(d, n, ratio, alpha, power):
        return n
    else:
        # Too few: gallop up from n until a size reaches.
        failing, step = n, 1
        while not _reaches(d, failing + step, ratio, alpha, power):
            failing += step
            step *= 2
        reaching = failing + step
    while reaching - failing > 1:
        middle = (reaching + failing) // 2
        if _reaches(d, middle, ratio, alpha, power):
            reaching = middle
        else:
            failing = middle
    return reaching


def _reaches(d: float, n: int, ratio: float, alpha: float, power: float) -> bool:
    """``power_ttest(d, n, ratio·n) ≥ power``, the same arithmetic, skipping the lower tail when the upper one
    already reaches ``power`` (adding a tail in [0, 1] to it cannot go below; the clip at 1 neither)."""
    n_t = ratio * n
    if n < 1 or n_t < 1 or n + n_t <= 2:
        return False
    dof = n + n_t - 2.0
    q = float(special.stdtrit(dof, 1.0 - alpha / 2.0))
    ncp = abs(d) / math.sqrt(1.0 / n + 1.0 / n_t)
    upper = _upper(dof, ncp, q)
    if min(max(upper, 0.0), 1.0) >= power:
        return True
    return _with_lower(upper, ncp, dof, q) >= power


def mde(n_c: float, n_t: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest effect size d (> 0) detected with ``power`` by the two-sided t-test with these sizes:
    the root of ``power_ttest(d, n_c, n_t) = power``, to a relative 1e-10. 0.0 when ``power ≤ alpha`` (the
    power at d = 0 is ``alpha``, so every effect reaches it).

    Solved in the noncentrality δ = d/√(1/n_c + 1/n_t): the closed form of the normal approximation of the
    noncentral t is within ~1e-4 of the root; one Newton step with that approximation's slope, then secant
    steps on the exact power. The error after a secant step is about |step × previous step| (superlinear
    convergence), which is what the stopping rule bounds — usually two exact evaluations in all. Where the
    approximation is far off (a few units per arm with a power near 1 or a tiny alpha) the secant can stall on
    the flat top of the power curve; then a bracketing search on the exact power finds the root."""
    if n_c < 2 or n_t < 2:
        return math.nan
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValueError("need 0 < alpha < 1 and 0 < power < 1")
    if power <= alpha:
        return 0.0
    scale = math.sqrt(1.0 / n_c + 1.0 / n_t)
    dof = n_c + n_t - 2.0
    q = float(special.stdtrit(dof, 1.0 - alpha / 2.0))  # the same for every candidate δ: computed once
    z_power = float(special.ndtri(power))
    spread = math.sqrt(1.0 + q * q / (2.0 * dof))
    x0 = _ncp_approx(q, z_power, dof)
    if not x0 > 0:
        return _ncp_bracketed(dof, q, power, q) * scale
    f0 = _power_at(x0, dof, q) - power
    # Newton with the approximation's slope φ(z)/spread (close to the exact one) gives the second point.
    slope = math.exp(-0.5 * z_power * z_power) / math.sqrt(2.0 * math.pi) / spread
    x1 = x0 - f0 / slope if slope > 0 else x0 * 1.001
    if x1 <= 0:
        x1 = x0 / 2.0
    previous = abs(x1 - x0)
    tolerance = 1e-10
    if previous <= tolerance * x1:
        return x1 * scale
    f1 = _power_at(x1, dof, q) - power
    for _ in range(12):  # two or three in practice; more means the secant is cycling on a flat stretch
        if f1 == f0:
            if f1 == 0.0:
                return x1 * scale
            break  # a flat stretch (the power rounds to the same value): the secant has no slope to follow
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        if x2 <= 0:
            x2 = x1 / 2.0
        step = abs(x2 - x1)
        x0, f0 = x1, f1
        x1 = x2
        # Secant error ≈ C·e_k·e_{k−1} with C = f''/2f' of order 1 here; 10× margin.
        if step <= tolerance * x1 or 10.0 * step * previous <= tolerance * x1:
            if math.isfinite(x1):
                return x1 * scale
            break
        previous = step
        f1 = _power_at(x1, dof, q) - power
    return _ncp_bracketed(dof, q, power, x1) * scale


def _ncp_bracketed(dof: float, q: float, power: float, hint: float) -> float:
    """The noncentrality whose exact power is ``power`` (> the power at 0, ``alpha``), to a relative 1e-10:
    bracketed by doubling from ``hint``, then the Illinois variant of regula falsi on the probit of the power,
    Φ⁻¹(power(δ)) − Φ⁻¹(target), which is nearly linear in δ where the power itself is flat (near 0 or 1).
    Only for what the secant misses; some 10–20 powers."""
    top = math.nextafter(1.0, 0.0)  # a power that rounds to 1 still gives a finite probit

    def gap(ncp: float) -> float:
        return float(special.ndtri(min(max(_power_at(ncp, dof, q), 1e-300), top))) - target

    target = float(special.ndtri(power))
    low, high = 0.0, hint if math.isfinite(hint) and hint > 0 else 1.0
    f_low, f_high = gap(low), gap(high)
    while not f_high >= 0:
        low, f_low = high, f_high
        high *= 2.0
        if high > 1e300:
            return math.nan
        f_high = gap(high)
    side = 0
    for _ in range(200):
        if high - low <= 1e-10 * high:
            break
        middle = (low * f_high - high * f_low) / (f_high - f_low) if f_high != f_low else 0.5 * (low + high)
        if not low < middle < high:
            middle = 0.5 * (low + high)
        f_middle = gap(middle)
        if f_middle == 0:
            return middle
        if f_middle < 0:
            low, f_low = middle, f_middle
            if side == -1:  # the same end twice: halve the other's weight (Illinois)
                f_high *= 0.5
            side = -1
        else:
            high, f_high = middle, f_middle
            if side == 1:
                f_low *= 0.5
            side = 1
    return 0.5 * (low + high)


def sequential_ci(
    result: TTestResult, n_total: float, *, alpha: float = 0.05, tuning: float = 5000.0
) -> tuple[float, float]:
    """An always-valid ``1 − alpha`` confidence interval around ``result.effect``: the asymptotic confidence
    sequence of Waudby-Smith et al. (2023), GrowthBook's sequential method. It holds at every look at once, so
    checking the dashboard every day keeps the false-positive rate at ``alpha``.

    With ``N = n_total`` units in both arms and ``s² = N·se²`` (the per-unit variance of the estimate), the
    half-width is ``s·√(2(Nρ² + 1)/(N²ρ²) · log(√(Nρ² + 1)/α))`` where ``ρ`` is tuned so the interval is
    narrowest at ``N = tuning`` units (set it to the planned total sample).
    """
    if not math.isfinite(result.se) or n_total <= 0:
        return math.nan, math.nan
    rho2 = (-2.0 * math.log(alpha) + math.log(-2.0 * math.log(alpha) + 1.0)) / tuning
    n_rho2 = n_total * rho2
    s = result.se * math.sqrt(n_total)
    half = s * math.sqrt(2.0 * (n_rho2 + 1.0) / (n_total * n_rho2) * math.log(math.sqrt(n_rho2 + 1.0) / alpha))
    return result.effect - half, result.effect + half

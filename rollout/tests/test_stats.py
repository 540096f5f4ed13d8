"""rollout.stats against scipy on random inputs, published reference numbers (GrowthBook's gbstats tests,
R's power.t.test / pwr), internal consistency (sample_size, mde, power) and a peeking simulation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from rollout.stats import (
    cohens_d,
    mde,
    power_ttest,
    sample_size,
    sequential_ci,
    srm_p_value,
    welch_ttest,
)

REL = 1e-6


def _summary(values: np.ndarray) -> tuple[float, float, int]:
    return float(values.mean()), float(values.var(ddof=1)), int(values.size)


def _from_sums(total: float, squares: float, n: int) -> tuple[float, float, int]:
    """gbstats' SampleMeanStatistic: mean and the n − 1 variance from Σx and Σx²."""
    return total / n, (squares - total * total / n) / (n - 1), n


@pytest.mark.parametrize("seed", range(20))
def test_welch_matches_scipy_ttest_ind(seed: int) -> None:
    rng = np.random.default_rng(seed)
    control = rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 10), size=int(rng.integers(5, 3000)))
    treatment = rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 10), size=int(rng.integers(5, 3000)))
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    ours = welch_ttest(*_summary(control), *_summary(treatment), alpha=alpha)
    theirs = sps.ttest_ind(treatment, control, equal_var=False)
    ci = theirs.confidence_interval(1 - alpha)
    assert ours.effect == pytest.approx(treatment.mean() - control.mean(), rel=REL)
    assert ours.effect / ours.se == pytest.approx(theirs.statistic, rel=REL)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=REL, abs=1e-300)
    assert ours.dof == pytest.approx(theirs.df, rel=REL)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((ci.low, ci.high), rel=REL)


@pytest.mark.parametrize("seed", range(10))
def test_relative_delta_method_matches_direct_formula(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    mc, vc, nc = rng.uniform(1, 10), rng.uniform(0.5, 20), int(rng.integers(50, 5000))
    mt, vt, nt = mc * rng.uniform(0.8, 1.2), rng.uniform(0.5, 20), int(rng.integers(50, 5000))
    ours = welch_ttest(mc, vc, nc, mt, vt, nt, relative=True)
    se = math.sqrt(vt / (nt * mc**2) + vc * mt**2 / (nc * mc**4))
    dof = (vc / nc + vt / nt) ** 2 / ((vc / nc) ** 2 / (nc - 1) + (vt / nt) ** 2 / (nt - 1))
    t_crit = sps.t.ppf(0.975, dof)
    assert ours.effect == pytest.approx(mt / mc - 1, rel=REL)
    assert ours.se == pytest.approx(se, rel=REL)
    assert ours.p_value == pytest.approx(2 * sps.t.sf(abs(ours.effect / se), dof), rel=REL)
    assert ours.ci_low == pytest.approx(ours.effect - t_crit * se, rel=REL)


def test_gbstats_published_examples() -> None:
    """gbstats' own tests (rounded to 5 decimals there): mean metric, relative and absolute; proportions."""
    control = _from_sums(1396.87, 52377.9767, 3407)
    treatment = _from_sums(2422.7, 134698.29, 3461)
    rel = welch_ttest(*control, *treatment, relative=True)
    assert [round(x, 5) for x in (rel.effect, rel.ci_low, rel.ci_high, rel.se, rel.p_value)] == [
        0.70732,
        -0.03526,
        1.44989,
        0.37879,
        0.06191,
    ]
    absolute = welch_ttest(*control, *treatment)
    assert [round(x, 5) for x in (absolute.effect, absolute.ci_low, absolute.ci_high, absolute.se)] == [
        0.29,
        0.04538,
        0.53462,
        0.12478,
    ]
    assert round(absolute.p_value, 5) == 0.02016
    p_c, p_t = 14 / 28, 16 / 30
    binom = welch_ttest(p_c, p_c * (1 - p_c), 28, p_t, p_t * (1 - p_t), 30, relative=True)
    assert [round(x, 5) for x in (binom.effect, binom.ci_low, binom.ci_high, binom.se, binom.p_value)] == [
        0.06667,
        -0.47767,
        0.61101,
        0.2717,
        0.80707,
    ]


def test_gbstats_published_sequential_examples() -> None:
    control = _from_sums(1396.87, 52377.9767, 3000)
    treatment = _from_sums(2422.7, 134698.29, 3461)
    result = welch_ttest(*control, *treatment, relative=True)
    low, high = sequential_ci(result, 3000 + 3461, tuning=1000)
    assert (round(result.effect, 5), round(low, 5), round(high, 5)) == (0.50336, -0.55844, 1.56516)
    p_c, p_t = 1396 / 3000, 2422 / 3461
    prop = welch_ttest(p_c, p_c * (1 - p_c), 3000, p_t, p_t * (1 - p_t), 3461, relative=True)
    low, high = sequential_ci(prop, 6461)  # gbstats' default tuning parameter, 5000
    assert (round(prop.effect, 5), round(low, 5), round(high, 5)) == (0.50386, 0.40098, 0.60675)
    # Tuning near the actual sample gives the narrowest interval (gbstats' tuning test).
    widths = {t: np.diff(sequential_ci(result, 6461, tuning=t))[0] for t in (10, 6461, 10000)}
    assert widths[6461] < widths[10000] < widths[10]


@pytest.mark.parametrize("seed", range(10))
def test_srm_matches_scipy_chisquare(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    arms = int(rng.integers(2, 5))
    weights = rng.uniform(1, 100, size=arms)
    counts = rng.integers(10, 100000, size=arms)
    expected = counts.sum() * weights / weights.sum()
    assert srm_p_value(list(counts), list(weights)) == pytest.approx(
        sps.chisquare(counts, expected).pvalue, rel=REL, abs=1e-300
    )


def test_srm_flags_a_broken_split_and_passes_a_fair_one() -> None:
    assert srm_p_value([5000, 5000], [50, 50]) == pytest.approx(1.0)
    assert srm_p_value([5000, 5400], [50, 50]) < 0.001
    assert srm_p_value([1000, 0], [1, 0]) == pytest.approx(1.0)
    assert srm_p_value([1000, 3], [1, 0]) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_cohens_d_matches_pooled_formula(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    a, b = rng.normal(0, 2, size=400), rng.normal(0.5, 3, size=700)
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    assert cohens_d(*_summary(a), *_summary(b)) == pytest.approx((b.mean() - a.mean()) / pooled, rel=REL)


@pytest.mark.parametrize("seed", range(10))
def test_power_matches_scipy_nct(seed: int) -> None:
    rng = np.random.default_rng(400 + seed)
    d, n_c, n_t = rng.uniform(-1, 1), int(rng.integers(3, 2000)), int(rng.integers(3, 2000))
    alpha = float(rng.choice([0.01, 0.05, 0.1]))
    dof = n_c + n_t - 2
    ncp = abs(d) / np.sqrt(1 / n_c + 1 / n_t)
    q = sps.t.ppf(1 - alpha / 2, dof)
    expected = sps.nct.sf(q, dof, ncp) + sps.nct.sf(q, dof, -ncp)  # P(T < −q; δ) = P(T > q; −δ)
    assert power_ttest(d, n_c, n_t, alpha=alpha) == pytest.approx(expected, rel=REL)


def test_power_published_r_values() -> None:
    """R: power.t.test(n = 20, delta = 1) → 0.8689528 (one tail; the other adds 2e-7);
    pwr.t.test(d = 0.5, power = 0.8) → n = 63.76561; pwr.t.test(d = 0.8, power = 0.8) → n = 25.52457."""
    assert power_ttest(1.0, 20, 20) == pytest.approx(0.8689528, rel=1e-6)
    assert power_ttest(0.5, 63.76561, 63.76561) == pytest.approx(0.8, rel=1e-6)
    assert power_ttest(0.8, 25.52457, 25.52457) == pytest.approx(0.8, rel=1e-6)
    assert power_ttest(0.0, 100, 100) == pytest.approx(0.05, rel=1e-9)  # no effect: power = alpha


@pytest.mark.parametrize(
    ("d", "ratio", "alpha", "power"),
    [(0.5, 1, 0.05, 0.8), (0.2, 1, 0.05, 0.9), (0.1, 2, 0.01, 0.8), (-0.3, 0.5, 0.05, 0.8)],
)
def test_sample_size_is_the_smallest_n_reaching_power(d: float, ratio: float, alpha: float, power: float) -> None:
    n = sample_size(d, alpha=alpha, power=power, ratio=ratio)
    assert power_ttest(d, n, ratio * n, alpha=alpha) >= power
    assert power_ttest(d, n - 1, ratio * (n - 1), alpha=alpha) < power
    assert sample_size(0.5) == 64  # pwr: 63.77 → 64 per arm


@pytest.mark.parametrize(("n_c", "n_t"), [(64, 64), (1000, 1000), (300, 900), (12, 15)])
def test_mde_inverts_power(n_c: int, n_t: int) -> None:
    d = mde(n_c, n_t)
    assert power_ttest(d, n_c, n_t) == pytest.approx(0.8, rel=1e-8)
    assert sample_size(d, ratio=n_t / n_c) in (n_c - 1, n_c, n_c + 1)


def test_degenerate_inputs_give_nan_not_errors() -> None:
    assert math.isnan(welch_ttest(1, 1, 1, 2, 1, 10).p_value)
    assert math.isnan(welch_ttest(0, 1, 10, 2, 1, 10, relative=True).effect)
    assert math.isnan(welch_ttest(1, 0, 10, 1, 0, 10).p_value)
    assert math.isnan(cohens_d(1, 0, 10, 2, 0, 10))
    with pytest.raises(ValueError):
        sample_size(0)


def test_sequential_ci_keeps_its_promise_under_daily_peeking() -> None:
    """A/A tests looked at every day for 20 days: the fixed-horizon CI excludes 0 on some day far more often
    than 5 % (the peeking problem); the sequential CI stays within alpha. Seeded and bounded (400 × 20 looks)."""
    rng = np.random.default_rng(2026)
    simulations, days, per_day, tuning = 400, 20, 100, 4000.0
    naive_hits = sequential_hits = 0
    for _ in range(simulations):
        a = rng.normal(10, 3, size=(days, per_day))
        b = rng.normal(10, 3, size=(days, per_day))
        sums_a, sums_b = np.cumsum(a.sum(axis=1)), np.cumsum(b.sum(axis=1))
        squares_a, squares_b = np.cumsum((a * a).sum(axis=1)), np.cumsum((b * b).sum(axis=1))
        naive = sequential = False
        for day in range(days):
            n = per_day * (day + 1)
            control = _from_sums(sums_a[day], squares_a[day], n)
            result = welch_ttest(*control, *_from_sums(sums_b[day], squares_b[day], n))
            naive |= not result.ci_low <= 0 <= result.ci_high
            low, high = sequential_ci(result, 2 * n, tuning=tuning)
            sequential |= not low <= 0 <= high
        naive_hits += naive
        sequential_hits += sequential
    assert naive_hits / simulations > 0.12  # peeking at a fixed-horizon CI inflates false positives
    assert sequential_hits / simulations <= 0.05


def _scipy_power(d: float, n_c: float, n_t: float, alpha: float = 0.05) -> float:
    dof = n_c + n_t - 2
    ncp = abs(d) / np.sqrt(1 / n_c + 1 / n_t)
    q = sps.t.ppf(1 - alpha / 2, dof)
    with np.errstate(all="ignore"):
        return float(sps.nct.sf(q, dof, ncp) + sps.nct.cdf(-q, dof, ncp))


@pytest.mark.parametrize(("n_c", "n_t"), [(2, 2), (10, 10), (100, 1), (100, 100), (1000, 3000), (1e6, 1e6)])
def test_power_of_very_large_effects_approaches_one(n_c: float, n_t: float) -> None:
    """scipy's nctdtr gives NaN in a band of noncentralities (≈ 36–57 just above the critical value) and for
    any beyond ~3.4e9: the power there is 1, not NaN. Equal to scipy wherever scipy is finite; never decreasing
    in d; 1 for an infinite effect."""
    ds = np.concatenate([np.linspace(0.01, 60, 600), np.logspace(2, 15, 40)])
    powers = [power_ttest(d, n_c, n_t) for d in ds]
    assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in powers)
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(powers))
    assert powers[-1] == 1.0 and power_ttest(math.inf, n_c, n_t) == 1.0
    for d, p in zip(ds, powers, strict=True):
        expected = _scipy_power(d, n_c, n_t)
        if math.isfinite(expected):
            assert p == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_power_in_scipys_nan_band_is_one() -> None:
    """ν = 99, δ ≈ 36.8 (d = 37 with 100 and 1 units): nctdtr's P(T ≤ q) is NaN; scipy's nct.sf says 1."""
    assert _scipy_power(37, 100, 1) == 1.0
    assert power_ttest(37, 100, 1) == 1.0
    assert power_ttest(1e10, 10, 10) == 1.0  # scipy: NaN
    assert math.isnan(power_ttest(math.nan, 10, 10))


def test_sample_size_at_extreme_effects_ends_and_is_exact() -> None:
    assert sample_size(1e10) == 2 and sample_size(1e300) == 2  # used to loop forever on NaN powers
    for d in (1e-4, 1e-6):  # the normal guess is millions of units off nctdtr's crossing at these sizes
        n = sample_size(d)
        assert power_ttest(d, n, n) >= 0.8 > power_ttest(d, n - 1, n - 1)
        z = sps.norm.ppf(0.975) + sps.norm.ppf(0.8)
        assert n == pytest.approx(2 * z * z / (d * d), rel=1e-5)
        assert _scipy_power(d, n, n) >= 0.8
    with pytest.raises(ValueError, match="too small"):
        sample_size(1e-200)  # (z/d)² overflows a float


@pytest.mark.parametrize(("n", "alpha"), [(5, 1e-6), (5, 1e-12), (4, 0.05), (3, 0.05)])
def test_mde_with_power_near_one_inverts_the_exact_power(n: int, alpha: float) -> None:
    """A few units per arm, power 0.999999: the secant used to stall on the flat top of the power curve
    (n = 5, alpha = 1e-6 returned d = 6.06, power 0.17). Checked with scipy's power on both sides of the root."""
    d = mde(n, n, alpha=alpha, power=0.999999)
    assert power_ttest(d, n, n, alpha=alpha) == pytest.approx(0.999999, abs=1e-12)
    assert _scipy_power(d * (1 - 1e-6), n, n, alpha) < 0.999999 < _scipy_power(d * (1 + 1e-6), n, n, alpha)


def test_mde_where_scipy_fails_still_inverts_power() -> None:
    for n, alpha, power in ((2, 0.05, 0.999999), (3, 1e-6, 0.999999), (2, 1e-6, 0.8)):
        d = mde(n, n, alpha=alpha, power=power)
        assert math.isfinite(d) and power_ttest(d, n, n, alpha=alpha) == pytest.approx(power, abs=1e-9)


def test_mde_is_zero_when_the_power_is_at_most_alpha() -> None:
    """The power at d = 0 is alpha: every effect reaches a target at or below it."""
    assert mde(1000, 1000, alpha=0.5, power=0.3) == 0.0
    assert mde(1000, 1000, alpha=0.05, power=0.05) == 0.0

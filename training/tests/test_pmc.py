"""Performance management chart: fitness, fatigue, form, ACWR, monotony, strain (no database)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from training.engine import compute_pmc, decay_factor, exponential_load, foster_monotony
from training.engine.reference import loop_pmc

K_C = 1 - math.exp(-1 / 42)
K_A = 1 - math.exp(-1 / 7)


def assert_series_equal(actual: np.ndarray, expected: list[float]) -> None:
    expected_array = np.array(expected, dtype=float)
    assert np.array_equal(np.isnan(actual), np.isnan(expected_array)), "undefined days differ"
    np.testing.assert_allclose(actual, expected_array, rtol=1e-10, atol=1e-10, equal_nan=True)


@pytest.mark.parametrize(
    ("ctl_seed", "atl_seed", "ctl_days", "atl_days"),
    [(0, 0, 42, 7), (55.5, 70.25, 42, 7), (30, 10, 28, 5), (0, 0, 1, 1)],
)
def test_matches_a_plain_day_by_day_loop(
    ctl_seed: float,
    atl_seed: float,
    ctl_days: float,
    atl_days: float,
) -> None:
    rng = np.random.default_rng(42)
    loads = rng.gamma(2.0, 40.0, 400) * (rng.random(400) < 0.7)  # rest days are 0
    loads[100:110] = 0.0
    loads[200:207] = 80.0  # a perfectly flat week: monotony undefined on its last day
    series = compute_pmc(loads, ctl_seed=ctl_seed, atl_seed=atl_seed, ctl_days=ctl_days, atl_days=atl_days)
    rows = loop_pmc(list(loads), ctl_seed=ctl_seed, atl_seed=atl_seed, ctl_days=ctl_days, atl_days=atl_days)
    for name in ("ctl", "atl", "tsb", "acwr", "monotony", "strain"):
        assert_series_equal(getattr(series, name), [row[name] for row in rows])
    assert math.isnan(series.monotony[206])


def test_single_load_from_zero_seeds_by_hand() -> None:
    series = compute_pmc([100.0, 0.0])
    assert series.ctl[0] == pytest.approx(100 * K_C)
    assert series.atl[0] == pytest.approx(100 * K_A)
    assert series.ctl[1] == pytest.approx(100 * K_C * (1 - K_C))
    assert series.tsb[0] == 0.0  # form entering day 0 comes from the seeds
    assert series.tsb[1] == pytest.approx(100 * K_C - 100 * K_A)  # yesterday's CTL - ATL
    assert series.acwr[0] == pytest.approx(K_A / K_C)


def test_seeds_are_the_day_before_the_first_day() -> None:
    series = compute_pmc([50.0] * 10, ctl_seed=50.0, atl_seed=50.0)
    np.testing.assert_allclose(series.ctl, 50.0, rtol=1e-14)
    np.testing.assert_allclose(series.atl, 50.0, rtol=1e-14)
    seeded = compute_pmc([0.0], ctl_seed=60.0, atl_seed=80.0)
    assert seeded.tsb[0] == -20.0
    assert seeded.ctl[0] == pytest.approx(60 * (1 - K_C))
    assert seeded.atl[0] == pytest.approx(80 * (1 - K_A))


def test_time_constants_are_settings() -> None:
    assert decay_factor(42) == pytest.approx(K_C, rel=1e-15)
    assert decay_factor(7) == pytest.approx(K_A, rel=1e-15)
    series = compute_pmc([100.0], ctl_days=10, atl_days=2)
    assert series.ctl[0] == pytest.approx(100 * (1 - math.exp(-1 / 10)))
    assert series.atl[0] == pytest.approx(100 * (1 - math.exp(-1 / 2)))
    assert exponential_load([100.0, 0.0], 10, seed=5.0)[0] == pytest.approx(5 + (100 - 5) * decay_factor(10))


def test_acwr_is_undefined_while_ctl_is_below_1e_9() -> None:
    series = compute_pmc([0.0, 0.0, 10.0, 0.0])
    assert np.isnan(series.acwr[:2]).all()
    assert series.acwr[2] == pytest.approx(K_A / K_C)
    assert not math.isnan(series.acwr[3])
    tiny = compute_pmc([0.0], ctl_seed=1e-10, atl_seed=1.0)
    assert math.isnan(tiny.acwr[0])


def test_monotony_uses_population_sd_over_the_last_seven_days() -> None:
    loads = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]  # mean 40, population sd 20
    monotony, strain = foster_monotony(loads)
    assert np.isnan(monotony[:6]).all() and np.isnan(strain[:6]).all()
    assert monotony[6] == pytest.approx(2.0, rel=1e-14)
    assert strain[6] == pytest.approx(280 * 2.0, rel=1e-14)
    # the window slides: day 7 sees 20..70 and 0
    monotony, _ = foster_monotony([*loads, 0.0])
    week = np.array([20.0, 30, 40, 50, 60, 70, 0])
    assert monotony[7] == pytest.approx(week.mean() / week.std(ddof=0), rel=1e-14)


@pytest.mark.parametrize("value", [0.0, 50.0, 0.1, 1e-300])
def test_monotony_undefined_when_all_seven_loads_are_equal(value: float) -> None:
    monotony, strain = foster_monotony([value] * 9)
    assert np.isnan(monotony).all() and np.isnan(strain).all()


def test_short_and_empty_inputs() -> None:
    series = compute_pmc([])
    assert series.ctl.size == 0 and series.tsb.size == 0
    monotony, strain = foster_monotony([1.0, 2.0, 3.0])
    assert np.isnan(monotony).all() and np.isnan(strain).all()


@pytest.mark.parametrize("loads", [[1.0, math.nan], [1.0, math.inf], [-1.0], [[1.0, 2.0]]])
def test_rejects_invalid_loads(loads: list[float]) -> None:
    with pytest.raises(ValueError):
        compute_pmc(loads)


BAD_SETTINGS = [{"ctl_days": 0}, {"atl_days": -7}, {"ctl_days": math.nan}, {"ctl_seed": math.inf}]


@pytest.mark.parametrize("kwargs", BAD_SETTINGS)
def test_rejects_invalid_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        compute_pmc([10.0], **kwargs)


def test_ten_years_of_days_in_well_under_5_ms() -> None:
    loads = np.random.default_rng(1).gamma(2.0, 40.0, 3653)
    compute_pmc(loads)
    best = min(_timed(lambda: compute_pmc(loads, ctl_seed=40, atl_seed=50)) for _ in range(20))
    assert best < 0.005, f"10 years took {best * 1e3:.2f} ms"


def _timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - start

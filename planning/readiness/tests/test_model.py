"""The pure model: agreement with statsmodels MixedLM, recovery of the demo model, the one-session update,
phases and the literature priors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from planning.readiness.demo import DEMO_MU, DEMO_SD, DEMO_SIGMA2
from planning.readiness.model import (
    add_session,
    fit_population,
    phase_for,
    posterior,
    predict,
    simulate,
    sufficient_stats,
)
from planning.readiness.priors import FEATURES, PRIORS, literature_parameters

sm = pytest.importorskip("statsmodels.api")


def mixedlm(X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> object:
    """The best converged ML fit of MixedLM (random intercept and slopes, free covariance) over optimisers."""
    best = None
    for method in (["lbfgs"], ["bfgs"], ["powell", "lbfgs"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = sm.MixedLM(y, X, groups=groups, exog_re=X).fit(reml=False, method=method, maxiter=5000)
        if result.converged and (best is None or result.llf > best.llf):
            best = result
    assert best is not None, "MixedLM did not converge with any optimiser"
    return best


def assert_agrees(X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> None:
    fit = fit_population(X, y, groups)
    ref = mixedlm(X, y, groups)
    assert abs(fit.loglik - ref.llf) < 1e-3
    Sigma_ref = np.asarray(ref.cov_re)
    assert np.linalg.norm(fit.Sigma - Sigma_ref) / np.linalg.norm(Sigma_ref) < 1e-3
    tol = 1e-3 * y.std()
    assert np.max(np.abs(fit.mu - np.asarray(ref.fe_params))) < tol
    for group, effect in ref.random_effects.items():
        assert np.max(np.abs(fit.coef[group] - (np.asarray(ref.fe_params) + np.asarray(effect)))) < tol
    assert abs(fit.sigma2 - ref.scale) / ref.scale < 1e-3


def test_fit_population_agrees_with_statsmodels_on_synthetic_data() -> None:
    rng = np.random.default_rng(3)
    mu = np.array([6.5, 0.3, -0.4])
    A = rng.normal(size=(3, 3)) * 0.3
    Sigma = A @ A.T + np.diag([0.8, 0.05, 0.05])
    X, y, groups, _ = simulate(rng, mu=mu, Sigma=Sigma, sigma2=1.5, sessions_per_athlete=rng.integers(5, 40, size=60))
    assert_agrees(X, y, groups)


def test_fit_population_agrees_with_statsmodels_on_grunfeld() -> None:
    """Grunfeld (1958) investment of 11 US firms over 20 years, as statsmodels ships it: log investment on log
    firm value and log capital, random intercept and slopes per firm."""
    from statsmodels.datasets import grunfeld

    data = grunfeld.load_pandas().data
    groups = data.firm.astype("category").cat.codes.to_numpy()
    y = np.log(data.invest.to_numpy())
    value, capital = np.log(data.value.to_numpy()), np.log(data.capital.to_numpy())
    X = np.column_stack([np.ones(len(data)), value - value.mean(), capital - capital.mean()])
    assert_agrees(X, y, groups)


def test_fit_recovers_the_demo_model() -> None:
    rng = np.random.default_rng(11)
    Sigma = np.diag(DEMO_SD**2)
    X, y, groups, _ = simulate(rng, mu=DEMO_MU, Sigma=Sigma, sigma2=DEMO_SIGMA2, sessions_per_athlete=[60] * 400)
    fit = fit_population(X, y, groups)
    assert fit.converged
    se = np.sqrt(np.diag(Sigma) / 400 + DEMO_SIGMA2 / (400 * 60))
    assert np.all(np.abs(fit.mu - DEMO_MU) < 4 * se)
    assert np.allclose(np.sqrt(np.diag(fit.Sigma)), DEMO_SD, rtol=0.25, atol=0.03)
    assert abs(fit.sigma2 - DEMO_SIGMA2) < 0.05


def test_one_session_update_equals_full_recomputation() -> None:
    rng = np.random.default_rng(5)
    mu, Sigma, sigma2 = literature_parameters()
    X, y, groups, _ = simulate(rng, mu=mu, Sigma=Sigma, sigma2=sigma2, sessions_per_athlete=[25])
    p = len(FEATURES)
    xtx, xty, yty, n = np.zeros((p, p)), np.zeros(p), 0.0, 0
    for row, outcome in zip(X, y, strict=True):
        xtx, xty, yty, n = add_session(xtx, xty, yty, n, row, float(outcome))
        beta, V = posterior(xtx, xty, mu, Sigma, sigma2)
    full = sufficient_stats(X, y, groups)
    beta_full, V_full = posterior(full.xtx[0], full.xty[0], mu, Sigma, sigma2)
    assert n == 25 and yty == pytest.approx(float(full.yty[0]))
    np.testing.assert_allclose(beta, beta_full, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(V, V_full, rtol=1e-10, atol=1e-12)


def test_posterior_shrinks_towards_the_population_with_few_sessions() -> None:
    mu, Sigma, sigma2 = literature_parameters()
    beta0, V0 = posterior(np.zeros((6, 6)), np.zeros(6), mu, Sigma, sigma2)
    np.testing.assert_allclose(beta0, mu)
    np.testing.assert_allclose(V0, Sigma)


@pytest.mark.parametrize(
    ("sessions", "phase"),
    [(0, "cold_start"), (9, "cold_start"), (10, "learning"), (29, "learning"), (30, "personalized")],
)
def test_phases_switch_at_their_thresholds(sessions: int, phase: str) -> None:
    assert phase_for(sessions, learning_at=10, personalized_at=30) == phase


def test_literature_priors_have_citations_and_the_feature_order() -> None:
    mu, Sigma, sigma2 = literature_parameters()
    assert list(PRIORS) == list(FEATURES)
    assert all(PRIORS[name].citation for name in FEATURES)
    assert mu.shape == (6,) and Sigma.shape == (6, 6) and sigma2 > 0
    assert PRIORS["sleep_hours"].mean > 0 and PRIORS["stress_level"].mean < 0


def test_predict_interval_contains_the_mean() -> None:
    pred = predict(np.array([1.0, 0.0]), np.array([6.0, 1.0]), np.eye(2) * 0.1, 1.0, level=0.8)
    assert pred.low < pred.mean == 6.0 < pred.high
    assert pred.high - pred.mean == pytest.approx(1.2815515655 * (1.1**0.5), rel=1e-6)

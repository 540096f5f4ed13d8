"""The readiness model, pure numpy: a linear mixed model fitted on per-athlete sufficient statistics.

For athlete j and session i: ``y_ij = x_ij · β_j + ε``, ``ε ~ N(0, σ²)``, ``β_j ~ N(μ, Σ)``. Every function works
on the statistics ``XᵀX``, ``Xᵀy``, ``yᵀy`` and ``n`` of each athlete, so the cost grows with athletes, not
sessions (see ``docs/readiness.md``). No Django imports.

- ``fit_population(X, y, groups)`` / ``fit_population_stats(stats)``: maximum likelihood of ``μ, Σ, σ²`` by EM
  (the random effects are the missing data), stopping when the log-likelihood gains less than ``tol`` per
  iteration and the parameters move less than ``tol`` relative. Returns the posterior means ``β̂_j`` too.
- ``posterior(...)``: ``V = (XᵀX/σ² + Σ⁻¹)⁻¹``, ``β̂ = V (Xᵀy/σ² + Σ⁻¹ μ)`` — O(p³) for one athlete.
- ``add_session(...)``: the statistics after one more session (O(p²)); with ``posterior`` that is the
  one-session update, equal to recomputing from all the athlete's sessions.
- ``predict(...)``: the mean and an interval for one session.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
LOG_2PI = math.log(2.0 * math.pi)

PHASE_COLD_START = "cold_start"
PHASE_LEARNING = "learning"
PHASE_PERSONALIZED = "personalized"


@dataclass(frozen=True, eq=False)
class AthleteStats:
    """Sufficient statistics of J athletes with p features: ``xtx`` (J,p,p), ``xty`` (J,p), ``yty`` (J,), ``n`` (J,)."""

    groups: tuple[Hashable, ...]
    xtx: FloatArray
    xty: FloatArray
    yty: FloatArray
    n: FloatArray

    @property
    def p(self) -> int:
        return int(self.xty.shape[1])


@dataclass(frozen=True, eq=False)
class PopulationFit:
    """``mu`` (p,), ``Sigma`` (p,p), ``sigma2``, the maximised log-likelihood and each athlete's ``β̂`` (``coef``)."""

    mu: FloatArray
    Sigma: FloatArray
    sigma2: float
    loglik: float
    iterations: int
    converged: bool
    coef: dict[Hashable, FloatArray] = field(default_factory=dict)
    posterior_cov: dict[Hashable, FloatArray] = field(default_factory=dict)


@dataclass(frozen=True)
class Prediction:
    """Predicted outcome with a central interval of probability ``level`` (outcome units)."""

    mean: float
    sd: float
    low: float
    high: float
    level: float


def sufficient_stats(X: FloatArray, y: FloatArray, groups: Sequence[Hashable] | FloatArray) -> AthleteStats:
    """Per-group ``XᵀX``, ``Xᵀy``, ``yᵀy``, ``n`` from rows (groups in sorted order)."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    labels, index = np.unique(np.asarray(groups), return_inverse=True)
    J, p = labels.size, X.shape[1]
    xtx = np.empty((J, p, p))
    for a in range(p):
        for b in range(a, p):
            xtx[:, a, b] = xtx[:, b, a] = np.bincount(index, weights=X[:, a] * X[:, b], minlength=J)
    xty = np.stack([np.bincount(index, weights=X[:, a] * y, minlength=J) for a in range(p)], axis=1).astype(np.float64)
    yty = np.bincount(index, weights=y * y, minlength=J).astype(np.float64)
    n = np.bincount(index, minlength=J).astype(np.float64)
    return AthleteStats(tuple(labels.tolist()), xtx, xty, yty, n)


def _posteriors(stats: AthleteStats, mu: FloatArray, Sigma: FloatArray, sigma2: float) -> tuple[FloatArray, FloatArray]:
    """All athletes' posterior covariances (J,p,p) and means (J,p), batched."""
    Sinv = np.linalg.inv(Sigma)
    precision = stats.xtx / sigma2 + Sinv
    V = np.linalg.inv(precision)
    rhs = stats.xty / sigma2 + Sinv @ mu
    m = np.einsum("jab,jb->ja", V, rhs)
    return V, m


def marginal_loglik(stats: AthleteStats, mu: FloatArray, Sigma: FloatArray, sigma2: float) -> float:
    """Log-likelihood of all outcomes with the random effects integrated out (Woodbury form on the statistics)."""
    V, _ = _posteriors(stats, mu, Sigma, sigma2)
    return _loglik(stats, mu, Sigma, sigma2, V)


def _loglik(stats: AthleteStats, mu: FloatArray, Sigma: FloatArray, sigma2: float, V: FloatArray) -> float:
    xtx_mu = stats.xtx @ mu
    rtr = stats.yty - 2.0 * stats.xty @ mu + xtx_mu @ mu
    u = (stats.xty - xtx_mu) / sigma2
    quad = rtr / sigma2 - np.einsum("ja,jab,jb->j", u, V, u)
    _, logdet_sigma = np.linalg.slogdet(Sigma)
    _, logdet_v = np.linalg.slogdet(V)
    n = stats.n
    total = n * (LOG_2PI + math.log(sigma2)) + logdet_sigma - logdet_v + quad
    return float(-0.5 * total.sum())


def _em_step(stats: AthleteStats, m: FloatArray, V: FloatArray) -> tuple[FloatArray, FloatArray, float]:
    """The M-step: new ``μ, Σ, σ²`` from the posterior moments ``m`` (J,p) and ``V`` (J,p,p)."""
    J = m.shape[0]
    mu = m.mean(axis=0)
    dev = m - mu
    Sigma = (V.sum(axis=0) + dev.T @ dev) / J
    fitted = np.einsum("ja,ja->j", m, stats.xty)
    spread = np.einsum("ja,jab,jb->j", m, stats.xtx, m) + np.einsum("jab,jba->j", stats.xtx, V)
    sigma2 = float((stats.yty - 2.0 * fitted + spread).sum() / stats.n.sum())
    return mu, 0.5 * (Sigma + Sigma.T), sigma2


def _pack(mu: FloatArray, Sigma: FloatArray, sigma2: float) -> FloatArray:
    return np.concatenate([mu, Sigma[np.triu_indices(mu.size)], [sigma2]])


def _unpack(theta: FloatArray, p: int) -> tuple[FloatArray, FloatArray, float]:
    Sigma = np.zeros((p, p))
    Sigma[np.triu_indices(p)] = theta[p:-1]
    Sigma = Sigma + np.triu(Sigma, 1).T
    return theta[:p].copy(), Sigma, float(theta[-1])


def _valid(Sigma: FloatArray, sigma2: float) -> bool:
    if not (sigma2 > 0 and np.all(np.isfinite(Sigma))):
        return False
    try:
        np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError:
        return False
    return True


def fit_population_stats(
    stats: AthleteStats,
    *,
    tol: float = 1e-10,
    max_iter: int = 5000,
    init: tuple[FloatArray, FloatArray, float] | None = None,
) -> PopulationFit:
    """Maximum-likelihood ``μ, Σ, σ²`` by EM on the statistics; ``coef``/``posterior_cov`` per athlete.

    Plain EM crawls when a variance is near zero, so the EM map is accelerated with SQUAREM (Varadhan &
    Roland 2008, Scand J Stat 35:335–353): an extrapolation along two EM steps, kept only when it is a valid
    covariance and does not lower the likelihood — otherwise the plain EM step is taken, so the likelihood
    never decreases. Stops when one cycle gains less than ``tol`` × (1 + |loglik|) and the parameters moved
    less than ``1e3·tol`` relative, or after ``max_iter`` cycles (``converged`` False).
    """
    p = stats.p
    N = float(stats.n.sum())
    if init is None:
        pooled = np.linalg.lstsq(stats.xtx.sum(axis=0), stats.xty.sum(axis=0), rcond=None)[0]
        resid = stats.yty.sum() - 2 * stats.xty.sum(axis=0) @ pooled + pooled @ stats.xtx.sum(axis=0) @ pooled
        sigma2 = max(float(resid) / max(N - p, 1.0), 1e-6)
        mu, Sigma = pooled, np.eye(p) * sigma2
    else:
        mu, Sigma, sigma2 = np.asarray(init[0], float), np.asarray(init[1], float), float(init[2])

    def em(theta: FloatArray) -> FloatArray:
        V, m = _posteriors(stats, *_unpack(theta, p))
        return _pack(*_em_step(stats, m, V))

    def loglik_of(theta: FloatArray) -> float:
        return marginal_loglik(stats, *_unpack(theta, p))

    theta = _pack(mu, Sigma, sigma2)
    loglik = loglik_of(theta)
    converged = False
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        theta1 = em(theta)
        theta2 = em(theta1)
        r = theta1 - theta
        v = theta2 - theta1 - r
        step = float(np.linalg.norm(v))
        candidate, cand_loglik = theta2, loglik_of(theta2)
        if step > 0:
            alpha = min(-float(np.linalg.norm(r)) / step, -1.0)
            extrapolated = theta - 2.0 * alpha * r + alpha * alpha * v
            _, ext_Sigma, ext_sigma2 = _unpack(extrapolated, p)
            if _valid(ext_Sigma, ext_sigma2):
                stabilised = em(extrapolated)
                _, st_Sigma, st_sigma2 = _unpack(stabilised, p)
                if _valid(st_Sigma, st_sigma2):
                    st_loglik = loglik_of(stabilised)
                    if st_loglik >= cand_loglik:
                        candidate, cand_loglik = stabilised, st_loglik
        moved = float(np.max(np.abs(candidate - theta) / (np.abs(theta) + 1e-8)))
        gain = cand_loglik - loglik
        theta, loglik = candidate, cand_loglik
        if gain < tol * (1.0 + abs(loglik)) and moved < tol * 1e3:
            converged = True
            break
    mu, Sigma, sigma2 = _unpack(theta, p)
    V, m = _posteriors(stats, mu, Sigma, sigma2)
    coef = {g: m[j] for j, g in enumerate(stats.groups)}
    covs = {g: V[j] for j, g in enumerate(stats.groups)}
    return PopulationFit(mu, Sigma, sigma2, loglik, iterations, converged, coef, covs)


def fit_population(
    X: FloatArray, y: FloatArray, groups: Sequence[Hashable] | FloatArray, **options: float | int
) -> PopulationFit:
    """Fit ``y = X β_group + ε`` with ``β ~ N(μ, Σ)`` by maximum likelihood (see ``fit_population_stats``)."""
    return fit_population_stats(sufficient_stats(X, y, groups), **options)  # type: ignore[arg-type]


def posterior(
    xtx: FloatArray, xty: FloatArray, mu: FloatArray, Sigma: FloatArray, sigma2: float
) -> tuple[FloatArray, FloatArray]:
    """One athlete's posterior mean ``β̂`` and covariance ``V`` given the population parameters (O(p³))."""
    Sinv = np.linalg.inv(Sigma)
    V = np.linalg.inv(np.asarray(xtx) / sigma2 + Sinv)
    return V @ (np.asarray(xty) / sigma2 + Sinv @ mu), V


def add_session(
    xtx: FloatArray, xty: FloatArray, yty: float, n: int, x: FloatArray, y: float
) -> tuple[FloatArray, FloatArray, float, int]:
    """The statistics after one more session ``(x, y)`` (O(p²))."""
    x = np.asarray(x, dtype=float)
    return np.asarray(xtx) + np.outer(x, x), np.asarray(xty) + x * y, float(yty) + y * y, n + 1


def predict(x: FloatArray, beta: FloatArray, cov: FloatArray, sigma2: float, *, level: float = 0.8) -> Prediction:
    """Mean ``x·β`` and the predictive interval with variance ``xᵀ cov x + σ²`` (normal quantiles)."""
    x = np.asarray(x, dtype=float)
    mean = float(x @ beta)
    sd = math.sqrt(max(float(x @ cov @ x) + sigma2, 0.0))
    z = _normal_quantile(0.5 + level / 2.0)
    return Prediction(mean=mean, sd=sd, low=mean - z * sd, high=mean + z * sd, level=level)


def _normal_quantile(q: float) -> float:
    """Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9) — avoids scipy per request."""
    a = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690, -30.66479806614716)
    b = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572)
    c = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968)
    d = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
    if q < 0.02425:
        t = math.sqrt(-2 * math.log(q))
        return (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + 2.938163982698783) / (
            (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1
        )
    if q > 1 - 0.02425:
        return -_normal_quantile(1 - q)
    r = q - 0.5
    s = r * r
    num = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + 2.506628277459239) * r
    den = ((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1
    return num / den


def phase_for(sessions: int, *, learning_at: int, personalized_at: int) -> str:
    """``cold_start`` below ``learning_at`` sessions, ``learning`` below ``personalized_at``, else ``personalized``."""
    if sessions < learning_at:
        return PHASE_COLD_START
    if sessions < personalized_at:
        return PHASE_LEARNING
    return PHASE_PERSONALIZED


def simulate(
    rng: np.random.Generator,
    *,
    mu: FloatArray,
    Sigma: FloatArray,
    sigma2: float,
    sessions_per_athlete: Sequence[int],
    feature_sd: float = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Draw data from the model: ``X`` (intercept + standard-normal features × ``feature_sd``), ``y``, ``groups``
    and the true ``β_j`` (J,p). Used by the tests, the demo seeder and the benchmark."""
    p = len(mu)
    betas = rng.multivariate_normal(mu, Sigma, size=len(sessions_per_athlete))
    counts = np.asarray(sessions_per_athlete, dtype=int)
    groups = np.repeat(np.arange(len(counts)), counts)
    X = np.column_stack([np.ones(groups.size), rng.normal(0.0, feature_sd, size=(groups.size, p - 1))])
    y = np.einsum("ia,ia->i", X, betas[groups]) + rng.normal(0.0, math.sqrt(sigma2), size=groups.size)
    return X, y, groups.astype(float), betas

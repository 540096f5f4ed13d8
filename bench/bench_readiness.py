"""Readiness benchmark: rules + prediction in-process, the population fit at 10,000 athletes from their
statistics, and ``fit_population`` against statsmodels MixedLM on the same data in the same run.

python bench/bench_readiness.py [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

from bench.common import command_line, machine, write_section


def _django() -> None:
    import django

    django.setup()


def in_process_answer_us(repeats: int = 5000) -> float:
    """engine.answer (rules, prediction with interval, recommendations, context, events) on a loaded context."""
    # imported here: the apps need django.setup() first
    from planning.readiness import engine, selectors
    from planning.readiness.demo import DEMO_MU, DEMO_SD, DEMO_SIGMA2
    from planning.readiness.priors import FEATURES
    from planning.readiness.recommend import CheckInValues, LoadState, RuleSpec
    from planning.readiness.services import DEFAULT_RULES

    rules = [RuleSpec(**{k: v for k, v in spec.items() if k != "enabled"}) for spec in DEFAULT_RULES]
    rng = np.random.default_rng(1)
    p = len(FEATURES)
    out = selectors.StoredOutput(1, 1, "personalized", DEMO_MU, np.eye(p) * 0.01, np.eye(p), np.zeros(p), 0.0, 40, None)  # type: ignore[arg-type]
    pop = selectors.Population(1, "fitted", DEMO_MU, np.diag(DEMO_SD**2), DEMO_SIGMA2, FEATURES, None, None)  # type: ignore[arg-type]
    history = selectors.History(*(tuple(rng.normal(6, 1, 60).tolist()) for _ in range(3)))
    ctx = engine.Context(
        1,
        date(2026, 1, 1),
        CheckInValues(7.0, 4, 2, 2),
        np.array([1, -0.5, 0.3, 0.1, 0, 0.4]),
        {"sleep_hours": -0.5},
        LoadState(1.1, 5.0, 50.0, 45.0),
        rules,
        pop,
        out,
        True,
        history,
    )
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            engine.answer(ctx)
        samples.append((time.perf_counter() - start) / repeats * 1e6)
    return statistics.median(samples)


def fit_at_scale(athletes: int = 10_000, sessions: int = 100) -> tuple[float, float, int]:
    """Statistics of 10,000 athletes × 100 sessions (1,000,000 rows), then the EM fit on them."""
    from planning.readiness.demo import DEMO_MU, DEMO_SD, DEMO_SIGMA2  # after django.setup()
    from planning.readiness.model import fit_population_stats, simulate, sufficient_stats

    rng = np.random.default_rng(3)
    X, y, groups, _ = simulate(
        rng, mu=DEMO_MU, Sigma=np.diag(DEMO_SD**2), sigma2=DEMO_SIGMA2, sessions_per_athlete=[sessions] * athletes
    )
    start = time.perf_counter()
    stats = sufficient_stats(X, y, groups)
    stats_s = time.perf_counter() - start
    start = time.perf_counter()
    fit = fit_population_stats(stats)
    return stats_s, time.perf_counter() - start, fit.iterations


def versus_statsmodels(athletes: int = 200, sessions: int = 30) -> dict[str, float]:
    import statsmodels.api as sm  # a test/bench-only dependency

    from planning.readiness.demo import DEMO_MU, DEMO_SD, DEMO_SIGMA2  # after django.setup()
    from planning.readiness.model import fit_population, simulate

    rng = np.random.default_rng(5)
    X, y, groups, _ = simulate(
        rng,
        mu=DEMO_MU[:3],
        Sigma=np.diag(DEMO_SD[:3] ** 2),
        sigma2=DEMO_SIGMA2,
        sessions_per_athlete=[sessions] * athletes,
    )
    start = time.perf_counter()
    ours = fit_population(X, y, groups)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.MixedLM(y, X, groups=groups, exog_re=X).fit(reml=False, method=["lbfgs"], maxiter=5000)
    ref_s = time.perf_counter() - start
    return {"ours_s": ours_s, "ref_s": ref_s, "dll": abs(ours.loglik - ref.llf), "ref_converged": ref.converged}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    _django()
    answer_us = in_process_answer_us()
    stats_s, fit_s, iterations = fit_at_scale()
    vs = versus_statsmodels()
    body = f"""Machine: {machine()}. Command: `{command_line()}`. Median of 5 runs where repeated.

| measurement | result | target |
|---|---|---|
| rules + prediction + recommendations + context (`engine.answer`), in-process, loaded context | {answer_us:.0f} µs | ≤ 1 ms |
| sufficient statistics of 10,000 athletes × 100 sessions (1,000,000 rows, numpy) | {stats_s:.2f} s | |
| `fit_population_stats` on them (p = 6, EM + SQUAREM, {iterations} cycles) | {fit_s:.2f} s | part of ≤ 30 s |
| `fit_population`, 200 athletes × 30 sessions, p = 3 | {vs["ours_s"] * 1000:.0f} ms | |
| statsmodels MixedLM (ML, lbfgs) on the same data, same run | {vs["ref_s"] * 1000:.0f} ms (converged: {vs["ref_converged"]}) | |
| speed-up over MixedLM | **{vs["ref_s"] / vs["ours_s"]:.0f}×** (log-likelihoods differ by {vs["dll"]:.1e}) | ≥ 10× |

Not measured yet: the end-to-end nightly refit on PostgreSQL (SQL statistics + fit + bulk write of 10,000
outputs) and the 50-client uvicorn stream run (see `docs/readiness.md`, "Open work").
"""
    print(body)
    if args.write:
        write_section(args.write, "Readiness", body)


if __name__ == "__main__":
    main()

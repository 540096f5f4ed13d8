"""Percentiles read back from the histogram buckets are within one bucket of numpy's on the same samples."""

from __future__ import annotations

import numpy as np
import pytest

from rollout.histogram import bucket_bounds, bucket_index, histogram_of, percentile


def test_bucket_edges() -> None:
    assert bucket_index(0) == 0 and bucket_index(-5) == 0 and bucket_index(float("nan")) == 0
    assert bucket_index(1e-9) == 1
    for index in (2, 10, 50, 120):
        lower, upper = bucket_bounds(index)
        assert bucket_index(upper) == index
        assert bucket_index(upper * 1.000001) == index + 1
        assert bucket_index(lower * 1.000001) == index
    assert bucket_index(1e30) == 200


@pytest.mark.parametrize(
    "samples",
    [
        np.random.default_rng(1).lognormal(mean=5, sigma=1, size=5000),
        np.random.default_rng(2).uniform(0, 2000, size=3000),
        np.random.default_rng(3).exponential(80, size=10000),
        np.random.default_rng(4).integers(0, 2, size=500).astype(float),
        np.array([12.5] * 50 + [900.0]),
        np.array([3.0]),
    ],
    ids=["lognormal", "uniform", "exponential", "zero-one", "spike", "single"],
)
@pytest.mark.parametrize("q", [50, 95, 99])
def test_percentile_within_one_bucket_of_numpy(samples: np.ndarray, q: float) -> None:
    estimate = percentile(histogram_of(samples.tolist()), q, lo=float(samples.min()), hi=float(samples.max()))
    exact = float(np.percentile(samples, q))
    assert estimate is not None
    assert abs(bucket_index(estimate) - bucket_index(exact)) <= 1, (estimate, exact)


def test_empty_histogram_has_no_percentile() -> None:
    assert percentile({}, 95, lo=0, hi=0) is None

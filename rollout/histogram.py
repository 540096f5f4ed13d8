"""Fixed log-scale histogram buckets for per-minute aggregates, and percentiles read back from them (pure).

Bucket 0 holds values ≤ 0; bucket i ≥ 1 holds ``MIN_VALUE·R^(i-1) < v ≤ MIN_VALUE·R^i`` with ``R = 2^(1/4)``
(each bucket ≈ 19 % wide) up to ``MIN_VALUE·R^(N_BUCKETS-1)`` (about 10^12); larger values go to the last
bucket. A percentile is read as the geometric middle of the bucket that holds the rank numpy interpolates
from, clamped to the aggregate's min and max, so it is within one bucket of ``numpy.percentile``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

MIN_VALUE = 1e-3
RATIO = 2**0.25
N_BUCKETS = 201
_LOG_RATIO = math.log(RATIO)


def bucket_index(value: float) -> int:
    """The bucket of ``value`` (0 for values ≤ 0)."""
    if value <= 0 or value != value:  # NaN goes with the non-positives
        return 0
    if value <= MIN_VALUE:
        return 1
    index = math.ceil(math.log(value / MIN_VALUE) / _LOG_RATIO - 1e-12) + 1
    return min(index, N_BUCKETS - 1)


def bucket_bounds(index: int) -> tuple[float, float]:
    """(lower, upper] of bucket ``index``; bucket 0 is (-inf, 0]."""
    if index <= 0:
        return (-math.inf, 0.0)
    upper = MIN_VALUE * RATIO ** (index - 1)
    lower = 0.0 if index == 1 else MIN_VALUE * RATIO ** (index - 2)
    return (lower, upper)


def merge(into: dict[int, int], other: Mapping[int | str, int]) -> dict[int, int]:
    for key, count in other.items():
        index = int(key)
        into[index] = into.get(index, 0) + int(count)
    return into


def _representative(index: int, lo: float, hi: float) -> float:
    lower, upper = bucket_bounds(index)
    if index == 0:
        estimate = min(0.0, hi)
    elif index == 1:
        estimate = upper / 2
    else:
        estimate = math.sqrt(lower * upper)
    return min(max(estimate, lo), hi)


def percentile(buckets: Mapping[int, int] | Mapping[str, int], q: float, *, lo: float, hi: float) -> float | None:
    """The ``q``-th percentile (0–100) of the values summarised by ``buckets``; None when empty.

    Like numpy's default (linear) method: the rank ``(n − 1)·q`` falls between two order statistics; each is
    represented by its bucket's geometric middle (clamped to the exact ``lo``/``hi`` kept beside the buckets)
    and the two are interpolated.
    """
    counts = sorted((int(k), int(v)) for k, v in buckets.items() if int(v) > 0)
    total = sum(c for _, c in counts)
    if total == 0:
        return None
    if q <= 0:
        return lo
    if q >= 100:
        return hi
    rank = (total - 1) * q / 100.0
    below = math.floor(rank)
    fraction = rank - below
    wanted = [below, min(below + 1, total - 1)]
    found: list[float] = []
    seen = 0
    for index, count in counts:
        seen += count
        while wanted and seen > wanted[0]:
            found.append(_representative(index, lo, hi))
            wanted.pop(0)
        if not wanted:
            break
    return found[0] + (found[1] - found[0]) * fraction


def histogram_of(values: Iterable[float]) -> dict[int, int]:
    result: dict[int, int] = {}
    for value in values:
        index = bucket_index(value)
        result[index] = result.get(index, 0) + 1
    return result

"""Bucketing is Unleash's normalised murmur3 hash, checked against an independent implementation."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import mmh3
import pytest

from rollout.hashing import bucket


def reference_murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 written out from Austin Appleby's reference (independent of the mmh3 package)."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    rounded = len(data) & ~3
    for i in range(0, rounded, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    tail = data[rounded:]
    k = 0
    if len(tail) == 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if len(tail) >= 1:
        k ^= tail[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def test_unleash_published_vectors() -> None:
    # unleash-client-node test/strategy/util-test.js: "normalized values are the same across node, java, and go"
    assert bucket("gr1", "123") == 73
    assert bucket("groupX", "999") == 25


def test_matches_the_reference_hash_for_many_ids() -> None:
    for flag in ("enhanced_trimp_calculation", "v1_planning_scoring", "x"):
        for user_id in range(1, 3000):
            expected = reference_murmur3_32(f"{flag}:{user_id}".encode()) % 100 + 1
            assert bucket(flag, user_id) == expected


def test_matches_mmh3_directly() -> None:
    for user_id in (1, 2, 3, 4, 42, 10**6):
        raw = mmh3.hash(f"enhanced_trimp_calculation:{user_id}", 0, signed=False)
        assert bucket("enhanced_trimp_calculation", user_id) == raw % 100 + 1


def test_buckets_are_in_range_and_roughly_uniform() -> None:
    counts = Counter(bucket("enhanced_trimp_calculation", uid) for uid in range(1, 100_001))
    assert set(counts) == set(range(1, 101))
    assert all(850 <= count <= 1150 for count in counts.values())


@pytest.mark.system
def test_deterministic_across_processes() -> None:
    code = "from rollout.hashing import bucket; print([bucket('enhanced_trimp_calculation', i) for i in range(1, 200)])"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == str([bucket("enhanced_trimp_calculation", i) for i in range(1, 200)])

"""Unleash-compatible bucketing: ``murmur3_32("{flag}:{user_id}", seed) % 100 + 1``.

The same user lands in the same bucket here as in every Unleash SDK (Node, Java, Go, mobile), so a front end
using an Unleash client agrees with the server about who is in a 5 % rollout.
"""

from __future__ import annotations

import mmh3

VARIANT_SEED = 86028157


def bucket(flag_name: str, user_id: int | str, *, seed: int = 0, normalizer: int = 100) -> int:
    """The user's bucket for ``flag_name``, 1..``normalizer`` (Unleash's ``normalizedValue``)."""
    return mmh3.hash(f"{flag_name}:{user_id}", seed, signed=False) % normalizer + 1

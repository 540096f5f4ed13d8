"""Bounds of feedback inputs (also published as minimum/maximum in the OpenAPI schema)."""

from __future__ import annotations

# An external TRIMP: a subnormal such as 2.2e-311 made the relative difference infinite, so the smallest
# accepted value is a hundredth of a point (no real session scores less), the largest below 10,000.
EXTERNAL_VALUE_MIN = 0.01
EXTERNAL_VALUE_MAX = 9999.99

"""Prometheus collectors of the foundation (exposed at /metrics next to django-prometheus' own)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOB_TOTAL = Counter("stamina_jobs_total", "Background jobs finished, by kind and outcome", ["kind", "outcome"])
JOB_DURATION = Histogram(
    "stamina_job_duration_seconds",
    "Background job run time",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600),
)

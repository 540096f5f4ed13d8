"""Expose the recorded metrics at /metrics: the latest complete minute of every (metric, tags), read from the
database so that every process's samples are included (one query per scrape)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rollout.histogram import percentile
from rollout.monitoring.models import MetricMinute

logger = logging.getLogger(__name__)


class RecordedMetricsCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Names only, so that registering does not query the database."""
        labels = ["metric", "tags"]
        for name in ("count", "sum", "mean", "p95"):
            yield GaugeMetricFamily(f"stamina_metric_{name}", name, labels=labels)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["metric", "tags"]
        count = GaugeMetricFamily("stamina_metric_count", "Samples in the last complete minute", labels=labels)
        mean = GaugeMetricFamily("stamina_metric_mean", "Mean in the last complete minute", labels=labels)
        p95 = GaugeMetricFamily("stamina_metric_p95", "95th percentile in the last complete minute", labels=labels)
        total = GaugeMetricFamily("stamina_metric_sum", "Sum in the last complete minute", labels=labels)
        minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=1)
        try:
            rows = list(
                MetricMinute.objects.filter(minute=minute).values_list(
                    "metric", "tags_key", "count", "sum", "min", "max", "buckets"
                )
            )
        except Exception:
            logger.warning("recorded metrics unavailable for /metrics", exc_info=True)
            rows = []
        for metric, tags_key, n, s, lo, hi, buckets in rows:
            values = [metric, tags_key]
            count.add_metric(values, n)
            total.add_metric(values, s)
            mean.add_metric(values, s / n if n else 0.0)
            p95.add_metric(values, percentile(buckets, 95, lo=lo, hi=hi) or 0.0)
        yield from (count, total, mean, p95)

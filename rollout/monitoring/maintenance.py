from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from rollout.monitoring.models import MetricMinute


def metrics_purge_old() -> int:
    """Delete per-minute aggregates older than METRICS_RETENTION_DAYS; return how many rows."""
    cutoff = timezone.now() - timedelta(days=settings.METRICS_RETENTION_DAYS)
    deleted, _ = MetricMinute.objects.filter(minute__lt=cutoff).delete()
    return deleted

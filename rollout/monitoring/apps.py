from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Metrics, alert rules, alerts and notifications: part of the rollout package, its own app label."""

    name = "rollout.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring (metrics, alert rules, alerts, notifications)"
    default_auto_field = "django.db.models.BigAutoField"

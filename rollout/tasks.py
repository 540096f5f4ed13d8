"""Thin Celery tasks of the rollout app (monitoring)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from rollout.monitoring import flush
from rollout.monitoring.evaluation import rules_evaluate
from rollout.monitoring.maintenance import metrics_purge_old
from rollout.monitoring.notifications import notification_deliver, notifications_deliver_due
from rollout.monitoring.recorder import record_process_memory


@shared_task(name="rollout.evaluate_rules", ignore_result=True, expires=55, acks_late=True)
def evaluate_rules() -> dict[str, Any]:
    record_process_memory("worker")
    flush()
    report = rules_evaluate()
    return {
        "rules": report.evaluated_rules,
        "opened": report.opened,
        "resolved": report.resolved,
        "incidents": report.incidents,
        "skipped": report.skipped,
    }


@shared_task(name="rollout.deliver_notification", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver_notification(notification_id: int) -> str:
    return notification_deliver(notification_id=notification_id)


@shared_task(name="rollout.retry_notifications", ignore_result=True, expires=55)
def retry_notifications() -> dict[str, int]:
    return notifications_deliver_due()


@shared_task(name="rollout.purge_metrics", ignore_result=True)
def purge_metrics() -> int:
    return metrics_purge_old()

"""Alert life cycle: open → acknowledged → resolved, one unresolved alert per rule and tag set."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import ConflictError, NotFoundError
from core.models import User
from rollout.monitoring.aggregate import SEVERITY_ORDER
from rollout.monitoring.models import Alert, AlertEvent, AlertRule
from rollout.monitoring.notifications import notify


def _message(alert: Alert, kind: str) -> tuple[str, dict[str, Any]]:
    tags = f" [{alert.tags_key}]" if alert.tags_key else ""
    subject = f"{alert.severity.upper()} {alert.rule.name}{tags}: {kind}"
    body = {
        "alert_id": alert.pk,
        "rule": alert.rule.name,
        "metric": alert.rule.metric,
        "tags": alert.tags,
        "event": kind,
        "severity": alert.severity,
        "value": alert.value,
        "threshold": alert.threshold,
        "status": alert.status,
        "opened_at": alert.opened_at.isoformat(),
    }
    return subject, body


def _notify(alert: Alert, kind: str) -> None:
    subject, body = _message(alert, kind)
    notify(channels=list(alert.rule.channels.all()), subject=subject, body=body, alert=alert)


def alert_open_or_update(
    *, rule: AlertRule, tags_key: str, tags: dict[str, str], level: str, value: float, threshold: float, now: datetime
) -> Alert:
    """Open an alert for a breach, or update the unresolved one (recording severity changes)."""
    alert = (
        Alert.objects.select_for_update()
        .filter(rule=rule, tags_key=tags_key, status__in=[Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED])
        .first()
    )
    if alert is None:
        alert = Alert.objects.create(
            rule=rule,
            tags_key=tags_key,
            tags=tags,
            severity=level,
            peak_severity=level,
            value=value,
            threshold=threshold,
            opened_at=now,
            last_breach_at=now,
        )
        AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.OPENED, to_severity=level, value=value)
        _notify(alert, "opened")
        return alert
    previous = alert.severity
    alert.value, alert.threshold, alert.last_breach_at = value, threshold, now
    alert.evaluations += 1
    if level != previous:
        alert.severity = level
        if SEVERITY_ORDER.index(level) > SEVERITY_ORDER.index(alert.peak_severity):
            alert.peak_severity = level
        AlertEvent.objects.create(
            alert=alert, kind=AlertEvent.Kind.SEVERITY, from_severity=previous, to_severity=level, value=value
        )
    alert.save()
    if SEVERITY_ORDER.index(level) > SEVERITY_ORDER.index(previous):
        _notify(alert, f"escalated from {previous}")
    return alert


def _resolve(alert: Alert, *, actor: User | None, note: str, now: datetime) -> Alert:
    alert.status = Alert.Status.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = actor
    alert.save(update_fields=["status", "resolved_at", "resolved_by"])
    AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.RESOLVED, actor=actor, note=note, value=alert.value)
    _notify(alert, "resolved")
    return alert


def alert_auto_resolve(*, rule: AlertRule, tags_key: str, now: datetime) -> Alert | None:
    alert = (
        Alert.objects.select_for_update()
        .filter(rule=rule, tags_key=tags_key, status__in=[Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED])
        .first()
    )
    if alert is None:
        return None
    return _resolve(alert, actor=None, note=f"recovered for {rule.recovery_minutes} min", now=now)


def _get_for_update(alert_id: int) -> Alert:
    try:
        return Alert.objects.select_for_update().select_related("rule").get(pk=alert_id)
    except Alert.DoesNotExist as exc:
        raise NotFoundError("alert_not_found", f"No alert {alert_id}.") from exc


@transaction.atomic
def alert_acknowledge(*, alert_id: int, actor: User | None, note: str = "") -> Alert:
    alert = _get_for_update(alert_id)
    if alert.status != Alert.Status.OPEN:
        raise ConflictError("alert_not_open", f"Alert {alert_id} is {alert.status}, not open.")
    alert.status = Alert.Status.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    AlertEvent.objects.create(alert=alert, kind=AlertEvent.Kind.ACKNOWLEDGED, actor=actor, note=note)
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: int, actor: User | None, note: str = "") -> Alert:
    alert = _get_for_update(alert_id)
    if alert.status == Alert.Status.RESOLVED:
        raise ConflictError("alert_resolved", f"Alert {alert_id} is already resolved.")
    return _resolve(alert, actor=actor, note=note or "resolved by hand", now=timezone.now())

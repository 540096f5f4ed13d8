"""Notifications: a row per (message, channel) first; delivery in a task; failed deliveries retry with backoff.

Evaluation only writes rows and enqueues after commit, so a slow or failing webhook never blocks it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.celery import app as celery_app
from rollout.monitoring.models import Alert, Notification, NotificationChannel

logger = logging.getLogger(__name__)
SENDING_TIMEOUT = timedelta(minutes=5)


def notify(
    *, channels: list[NotificationChannel], subject: str, body: dict[str, Any], alert: Alert | None
) -> list[int]:
    """Create one pending notification per enabled channel and send each after commit."""
    now = timezone.now()
    created = [
        Notification.objects.create(channel=channel, alert=alert, subject=subject[:300], body=body, next_attempt_at=now)
        for channel in channels
        if channel.enabled
    ]
    ids = [n.pk for n in created]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))
    return ids


DELIVER_TASK = "rollout.deliver_notification"  # rollout/tasks.py calls this module: sent by name, no import


def _enqueue(ids: list[int]) -> None:
    for notification_id in ids:
        try:
            celery_app.send_task(DELIVER_TASK, args=[notification_id])
        except Exception:
            logger.warning("broker unavailable; notification %s will be sent by the sweeper", notification_id)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 10 * 2 ** max(0, attempts - 1)))


def _send(notification: Notification) -> None:
    channel = notification.channel
    if channel.kind == NotificationChannel.Kind.LOG:
        logger.warning("ALERT %s %s", notification.subject, json.dumps(notification.body, default=str))
        return
    if channel.kind == NotificationChannel.Kind.EMAIL:
        recipients = [a.strip() for a in channel.target.split(",") if a.strip()]
        if not recipients:
            raise ValueError("e-mail channel without recipients")
        send_mail(
            subject=f"[Stamina] {notification.subject}",
            message=json.dumps(notification.body, indent=2, default=str),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
            fail_silently=False,
        )
        return
    if channel.kind == NotificationChannel.Kind.WEBHOOK:
        payload = json.dumps({"subject": notification.subject, **notification.body}, default=str).encode()
        request = urllib.request.Request(
            channel.target, data=payload, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=channel.timeout_seconds) as response:
            if response.status >= 300:
                raise RuntimeError(f"webhook answered {response.status}")
        return
    raise ValueError(f"unknown channel kind {channel.kind!r}")


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Try to deliver one notification once; return its status afterwards. Safe to call twice."""
    now = now or timezone.now()
    claimed = Notification.objects.filter(
        Q(status=Notification.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Notification.Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT),
        pk=notification_id,
    ).update(status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return Notification.objects.filter(pk=notification_id).values_list("status", flat=True).first() or "missing"
    notification = Notification.objects.select_related("channel").get(pk=notification_id)
    try:
        _send(notification)
    except (OSError, urllib.error.URLError, ValueError, RuntimeError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if notification.attempts >= notification.channel.max_attempts:
            notification.status = Notification.Status.FAILED
        else:
            notification.status = Notification.Status.PENDING
            notification.next_attempt_at = now + _backoff(notification.attempts)
        notification.last_error = error
        notification.save(update_fields=["status", "next_attempt_at", "last_error"])
        logger.warning("notification %s via %s failed (%s)", notification.pk, notification.channel.name, error)
        return notification.status
    notification.status = Notification.Status.SENT
    notification.sent_at = timezone.now()
    notification.save(update_fields=["status", "sent_at"])
    return notification.status


def notifications_deliver_due(*, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """The sweeper: deliver every due notification (retries and lost messages)."""
    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(
            Q(status=Notification.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=Notification.Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    outcome: dict[str, int] = {}
    for notification_id in ids:
        status = notification_deliver(notification_id=notification_id, now=now)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome

"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")

app = Celery("stamina")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(dispatch_uid="core.close_old_connections_prerun")
@task_postrun.connect(dispatch_uid="core.close_old_connections_postrun")
def _close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """Treat a task like a request: close connections past ``DB_CONN_MAX_AGE`` or left broken by an error.

    Celery's fix-up would close every connection after every task (a new PostgreSQL backend per task);
    ``CELERY_DB_REUSE_MAX`` turns that off, and this keeps Django's own rules instead. Eager tasks run inside
    the caller's request or test, whose connection is not theirs to close.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections  # not at the top: this module is imported before settings load

    close_old_connections()

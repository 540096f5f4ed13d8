"""Settings for the test suite: the real settings plus isolation from a running `make run`.

Each pytest run gets its own broker folder, queue name and (on SQLite) a file database, so Celery worker
subprocesses started by tests can share them. Subprocesses inherit ``STAMINA_TEST_RUN_ID``.
"""

from __future__ import annotations

import os
import uuid

os.environ.setdefault("STAMINA_TEST_RUN_ID", uuid.uuid4().hex[:10])
_RUN_ID = os.environ["STAMINA_TEST_RUN_ID"]
os.environ.setdefault("CELERY_QUEUE", f"stamina-test-{_RUN_ID}")
os.environ.setdefault("DJANGO_ENV", "test")

from core.settings import *  # noqa: E402,F403
from core.settings import DATABASES, VAR_DIR  # noqa: E402

TEST_RUN_ID = _RUN_ID
BROKER_DIR = VAR_DIR / "test" / _RUN_ID / "broker"
if CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "control"):
        os.makedirs(BROKER_DIR / _folder, exist_ok=True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that a Celery worker subprocess can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test" / _RUN_ID / "test.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {**REST_FRAMEWORK}  # noqa: F405
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],  # type: ignore[dict-item]
    "anon": "1000/min",
    "user": "10000/min",
    "feedback": "10000/min",
}

# Importing core.asgi (the stream tests do) must not freeze the test process' objects out of the collector.
GC_FREEZE_AT_START = False
# Metrics flush inline (on interval or explicit flush) inside the test's own connection, never from a thread.
METRICS_FLUSH_THREAD = False
# Tests move rollouts along at once unless they test the dwell (override_settings).
ROLLOUT_MIN_DWELL_MINUTES = 0
METRICS_FLUSH_SECONDS = 3600.0

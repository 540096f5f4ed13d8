"""Stamina settings: one module, driven by the environment (see the README's configuration table).

Development needs nothing: SQLite under ``var/``, a local-memory cache and kombu's filesystem broker.
``DATABASE_URL`` and ``REDIS_URL`` move it to PostgreSQL and Redis. ``DJANGO_ENV=production`` refuses to start
without a real ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STAMINA_VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "production", "test"))
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY", required=True) or ""
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production.")
    DEBUG = env_bool("DEBUG", False)
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production.")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required in production (comma-separated host names).")
else:
    SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-not-for-production-0123456789abcdef") or ""
    DEBUG = env_bool("DEBUG", DJANGO_ENV == "development")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    "django_prometheus",
    "waffle",
    "core.apps.CoreConfig",
    "rollout.apps.RolloutConfig",
    "rollout.monitoring.apps.MonitoringConfig",
    "rollout.experiments.apps.ExperimentsConfig",
    "training.apps.TrainingConfig",
    "planning.apps.PlanningConfig",
    "planning.readiness.apps.ReadinessConfig",
    "feedback.apps.FeedbackConfig",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.access_log.AccessLogMiddleware",
    "core.maintenance.MaintenanceMiddleware",
    "rollout.monitoring.middleware.ApiMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ApiErrorMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "core.urls"
WSGI_APPLICATION = "core.wsgi.application"
ASGI_APPLICATION = "core.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'stamina.sqlite3'}") or ""
try:
    # A kept connection is checked (one round trip) before a request reuses it: a restarted database costs no
    # failed request. Under uvicorn the request threads are reused (core.asgi_handler), so they keep theirs.
    _conn_max_age = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=_conn_max_age, conn_health_checks=_conn_max_age > 0)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if _db["ENGINE"] == "django.db.backends.sqlite3":
    import sqlite3

    if sqlite3.sqlite_version_info < (3, 35):  # core.jobs claims and finishes rows with UPDATE … RETURNING
        raise ImproperlyConfigured(f"SQLite 3.35 or later is needed, this Python has {sqlite3.sqlite_version}")
    # WAL lets the web, worker and beat processes read while one writes; IMMEDIATE avoids the
    # "database is locked" upgrade deadlock between two writers.
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # Short: with the database down an API call answers 503 (core.api.exceptions) after this, not a hang.
    _db.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 2, minimum=1)
    if not env_bool("DB_SYNCHRONOUS_COMMIT", True):
        # For job workers: every job row is re-runnable (the sweeper re-queues a job whose finishing commit was
        # lost in a crash), so they may skip the WAL flush per commit — ~7 ms each on a shared disk.
        _db["OPTIONS"]["options"] = "-c synchronous_commit=off"
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker -----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.5, minimum=0.05)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "stamina"),
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "stamina"}}

BROKER_DIR = Path(env_str("BROKER_DIR", str(VAR_DIR / "broker")) or VAR_DIR / "broker")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: no service needed, works across processes on one machine. It deletes a
    # message when it is read, so acks_late cannot redeliver after a crash; the job rows and the sweeper
    # (core.jobs) make up for that.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS * 4,
        "socket_timeout": REDIS_TIMEOUT_SECONDS * 4,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "stamina") or "stamina"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
# Celery's Django fix-up closes every database connection after each task unless this is set, which makes a
# worker open a new connection (a new PostgreSQL backend) per task and ignores DB_CONN_MAX_AGE. With it set,
# core.celery closes connections the way Django does after a request (close_old_connections: max age, errors),
# and the fix-up recycles them only after this many tasks.
CELERY_DB_REUSE_MAX = 1000

# Job rows (core.jobs): a queued row older than this is re-sent; a running row whose heartbeat is older
# is considered lost (its worker died) and re-queued, up to JOB_MAX_ATTEMPTS.
JOB_QUEUED_RESEND_SECONDS = env_int("JOB_QUEUED_RESEND_SECONDS", 120, minimum=5)
JOB_RUNNING_TIMEOUT_SECONDS = env_int("JOB_RUNNING_TIMEOUT_SECONDS", 600, minimum=10)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 5, minimum=1)
# The most jobs one message claims and runs together, for kinds registered with a batch handler (plan
# generation); 1 turns batching off. A batch finishes in one transaction, so it also bounds that transaction.
JOB_BATCH_MAX = env_int("JOB_BATCH_MAX", 20, minimum=1)

# Experiment analysis (rollout.experiments.rollups): events older than now − SETTLE are folded into the stored
# per-user sums (the rest is counted per analysis); the folded state is rebuilt from every event when older
# than REBUILD_HOURS (corrects events changed after they were folded).
EXPERIMENT_ROLLUP_SETTLE_SECONDS = env_int("EXPERIMENT_ROLLUP_SETTLE_SECONDS", 300, minimum=0)
EXPERIMENT_ROLLUP_REBUILD_HOURS = env_int("EXPERIMENT_ROLLUP_REBUILD_HOURS", 24, minimum=1)

# --- Auth and API ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 30, minimum=1)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.SafeAnonRateThrottle",
        "core.api.throttling.SafeUserRateThrottle",
        "core.api.throttling.SafeScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("THROTTLE_ANON", "60/min"),
        "user": env_str("THROTTLE_USER", "1200/min"),
        "login": env_str("THROTTLE_LOGIN", "10/min"),
        "login_username": env_str("THROTTLE_LOGIN_USERNAME", "20/hour"),
        "feedback": env_str("THROTTLE_FEEDBACK", "30/hour"),
    },
    "EXCEPTION_HANDLER": "core.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Stamina API",
    "DESCRIPTION": "Training load, planning, readiness, feedback and safe rollouts for coaching apps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ExternalSourceEnum": "feedback.models.ExternalSource",
        "ActivitySourceEnum": "training.models.Activity.Source",
        "FeedbackStatusEnum": "feedback.models.Status",
        "JobStatusEnum": "core.models.Job.Status",
        "PlanJobStatusEnum": "planning.models.PlanJob.Status",
        "MovementStatusEnum": "planning.models.Movement.Status",
    },
}

# Under uvicorn (core.asgi_handler) request threads are reused; at most this many idle ones are kept, each
# with its database connection when DB_CONN_MAX_AGE > 0.
ASGI_IDLE_THREADS = env_int("ASGI_IDLE_THREADS", 16, minimum=0, maximum=1000)
# core.asgi: after start-up, gc.freeze() the objects alive (Django, the URLconf, the views) so a full
# collection scans only newer ones (up to ~200 ms stalls of every request in flight otherwise).
GC_FREEZE_AT_START = env_bool("GC_FREEZE_AT_START", True)

# /health answers within this many seconds whatever hangs (its checks run in parallel).
HEALTH_TIMEOUT_SECONDS = env_float("HEALTH_TIMEOUT_SECONDS", 1.0, minimum=0.1)

# --- Request limits (core.body_limits, core.api.parsers, core.api.throttling) -----------------------------
# Bodies are refused by the ASGI/WSGI wrapper before Django reads them: anonymous requests (no Authorization
# header, no session cookie) above MAX_ANON_BODY_BYTES, any request above MAX_BODY_BYTES (the upload limit).
MAX_ANON_BODY_BYTES = env_int("MAX_ANON_BODY_BYTES", 64 * 1024, minimum=1024)
MAX_BODY_BYTES = env_int("MAX_BODY_BYTES", 64 * 1024 * 1024, minimum=64 * 1024)
# JSON bodies are parsed in memory: at most this many bytes and this nesting depth (else 413 / 400).
MAX_JSON_BODY_BYTES = env_int("MAX_JSON_BODY_BYTES", 8 * 1024 * 1024, minimum=64 * 1024)
MAX_JSON_DEPTH = env_int("MAX_JSON_DEPTH", 32, minimum=4, maximum=200)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_JSON_BODY_BYTES  # request.body and form fields (files excluded)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # larger uploaded files stream to a temporary file
# Forwarded headers (X-Forwarded-For) are believed only from these addresses/networks (your proxies);
# empty: the client is the socket's peer address, whatever the headers say.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network.") from _exc

# --- Flags ----------------------------------------------------------------------------------------------
WAFFLE_FLAG_MODEL = "rollout.Flag"
WAFFLE_CREATE_MISSING_FLAGS = False
FLAGS_REFRESH_SECONDS = env_float("FLAGS_REFRESH_SECONDS", 1.0, minimum=0.0)
# Minimum minutes a rollout stays at a stage that exposes users before it may advance (a stage's own
# "min_dwell_minutes" in the plan, or the rollout's, wins when larger).
ROLLOUT_MIN_DWELL_MINUTES = env_int("ROLLOUT_MIN_DWELL_MINUTES", 30, minimum=0, maximum=43200)

# --- Monitoring -----------------------------------------------------------------------------------------
METRICS_FLUSH_SECONDS = env_float("METRICS_FLUSH_SECONDS", 5.0, minimum=0.0)
METRICS_FLUSH_THREAD = env_bool("METRICS_FLUSH_THREAD", True)
METRICS_MAX_BUFFERED_KEYS = env_int("METRICS_MAX_BUFFERED_KEYS", 100_000, minimum=100)
METRICS_RETENTION_DAYS = env_int("METRICS_RETENTION_DAYS", 90, minimum=1)

# --- Feedback -------------------------------------------------------------------------------------------
FEEDBACK_MAX_MESSAGE_CHARS = env_int("FEEDBACK_MAX_MESSAGE_CHARS", 5000, minimum=100)
FEEDBACK_DUPLICATE_WINDOW_SECONDS = env_int("FEEDBACK_DUPLICATE_WINDOW_SECONDS", 600, minimum=0)

# --- Readiness (the seed's cache TTLs; phase thresholds; refit sizing) -----------------------------------
RULES_CACHE_TTL_SECONDS = env_int("RULES_CACHE_TTL_SECONDS", 300, minimum=0)
PRIORS_CACHE_TTL_SECONDS = env_int("PRIORS_CACHE_TTL_SECONDS", 600, minimum=0)
MODEL_CACHE_TTL_SECONDS = env_int("MODEL_CACHE_TTL_SECONDS", 1800, minimum=0)
READINESS_LEARNING_SESSIONS = env_int("READINESS_LEARNING_SESSIONS", 10, minimum=1)
READINESS_PERSONALIZED_SESSIONS = env_int("READINESS_PERSONALIZED_SESSIONS", 30, minimum=2)
READINESS_MIN_POPULATION_ATHLETES = env_int("READINESS_MIN_POPULATION_ATHLETES", 20, minimum=2)
READINESS_REFIT_CHUNK_ATHLETES = env_int("READINESS_REFIT_CHUNK_ATHLETES", 2000, minimum=1)
# EM cycles per nightly refit: a variance near zero makes EM crawl; the run stores `converged` and the next
# night starts from this fit
READINESS_EM_MAX_CYCLES = env_int("READINESS_EM_MAX_CYCLES", 50, minimum=1)

# --- Maintenance mode and backups ----------------------------------------------------------------------
# MAINTENANCE_MODE forces read-only mode on (over the database switch); see core/maintenance.py.
MAINTENANCE_MODE = env_bool("MAINTENANCE_MODE", False)
MAINTENANCE_REASON = env_str("MAINTENANCE_REASON", "maintenance (MAINTENANCE_MODE is set)") or ""
MAINTENANCE_CACHE_SECONDS = env_float("MAINTENANCE_CACHE_SECONDS", 2.0, minimum=0.0)
MAINTENANCE_ALLOWED_PATHS = env_list(
    "MAINTENANCE_ALLOWED_PATHS", ["/api/v1/auth/token", "/api/v1/auth/logout", "/admin/login/", "/admin/logout/"]
)
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")) or VAR_DIR / "backups")
BACKUP_KEEP = env_int("BACKUP_KEEP", 7, minimum=1)

# --- Observability --------------------------------------------------------------------------------------
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [] if PRODUCTION else ["127.0.0.1", "::1"])
LOG_LEVEL = env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "text", ("json", "text"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}
# LOG_FILE: every process (web, worker, beat) also appends to this file, rotated at LOG_FILE_MAX_BYTES with
# LOG_FILE_BACKUPS old files kept; rotation is safe across processes (core.logging.SharedRotatingFileHandler).
LOG_FILE = env_str("LOG_FILE")
LOG_FILE_MAX_BYTES = env_int("LOG_FILE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
LOG_FILE_BACKUPS = env_int("LOG_FILE_BACKUPS", 5, minimum=1, maximum=1000)
if LOG_FILE:
    LOGGING["handlers"]["file"] = {  # type: ignore[index]
        "()": "core.logging.SharedRotatingFileHandler",
        "filename": str(Path(LOG_FILE).resolve()),
        "max_bytes": LOG_FILE_MAX_BYTES,
        "backup_count": LOG_FILE_BACKUPS,
        "formatter": LOG_FORMAT,
        "filters": ["request_id"],
    }
    LOGGING["root"]["handlers"].append("file")  # type: ignore[index]
# ACCESS_LOG: one line per web request on the `stamina.access` logger (core/access_log.py).
ACCESS_LOG = env_bool("ACCESS_LOG", True)

# --- i18n, static ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Mail -----------------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "stamina@localhost")

# --- Security (production) ------------------------------------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

os.makedirs(VAR_DIR, exist_ok=True)
os.makedirs(STATIC_ROOT, exist_ok=True)
for _folder_key in ("data_folder_in", "control_folder"):
    if _folder_key in CELERY_BROKER_TRANSPORT_OPTIONS:
        os.makedirs(str(CELERY_BROKER_TRANSPORT_OPTIONS[_folder_key]), exist_ok=True)

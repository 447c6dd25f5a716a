"""Settings: embedded defaults for a laptop, production from the environment.

Every variable read here is listed in README.md with its default.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_json(name: str, default: dict) -> dict:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object, not {type(value).__name__}")
    return value


def env_secret(name: str, default: str | None) -> str:
    """Read NAME_FILE (a mounted secret) first, then NAME; fail closed without either."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    if value := os.environ.get(name):
        return value
    if default is None:
        raise ImproperlyConfigured(f"{name} (or {name}_FILE) must be set when DEBUG is off")
    return default


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY", "dev-only-insecure-key" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # first, so runserver serves websockets
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "channels",
    "accountability",
    "agents",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accountability.middleware.RequestIdMiddleware",
    "accountability.middleware.ApiBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accountability.middleware.NulCharacterMiddleware",
]

ROOT_URLCONF = "accountability.urls"
WSGI_APPLICATION = "accountability.wsgi.application"
ASGI_APPLICATION = "accountability.asgi.application"

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
                "accountability.context_processors.nav",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side binding, and psycopg preparing a statement once it has run 5 times on a
    # connection: the hot paths (claim, decide, ingest) then skip PostgreSQL's planner, which
    # cost more than running most of their queries. Django leaves preparing off unless
    # prepare_threshold is given. Both off behind a transaction-mode pooler (PgBouncer < 1.21)
    # that cannot keep prepared statements: DB_SERVER_SIDE_BINDING=0.
    server_side_binding = env_bool("DB_SERVER_SIDE_BINDING", True)
    DATABASES["default"]["OPTIONS"] = {
        "server_side_binding": server_side_binding,
        "prepare_threshold": 5 if server_side_binding else None,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN,
    # so a read-then-write transaction (claiming) can never be overtaken half-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and Celery broker -------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
    # One cache for every process, so that the calibrators' refit debounce holds across web
    # processes. (Sessions stay in the database: reading them from here measured no faster.)
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "accountability",
        }
    }
else:
    # One process, no services: only valid while everything runs in the web process.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "close-expired-leases": {"task": "review.tasks.leases_close_expired", "schedule": 60.0},
    "flag-sla-breaches": {"task": "review.tasks.items_flag_breached", "schedule": 60.0},
    # Yesterday's rollup is stored once the day is over and refreshed for late commits.
    "store-rollups": {"task": "review.tasks.rollups_store_recent", "schedule": 600.0},
    "adapt-qa-sampling": {"task": "review.tasks.qa_sample_rates_adapt", "schedule": 86400.0},
    # Decisions schedule a debounced refit of their agent; this catches lost tasks and overrides.
    "refit-calibrators": {"task": "agents.tasks.calibrations_refit", "schedule": 3600.0},
    # Every webhook delivery has its own task; this only re-sends those whose task was lost.
    "send-due-webhooks": {"task": "agents.tasks.webhooks_send_due", "schedule": 60.0},
    "clear-expired-sessions": {
        "task": "accountability.tasks.sessions_clear_expired",
        "schedule": 86400.0,
    },
}
# --- Outgoing webhooks (agents/webhooks) ------------------------------------------------------
# The public address of this site, for the item links in webhook payloads (no request to ask).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Payloads carry business data (claims, invoices, records) and a replayable signature: https
# only by default. Turn on for a receiver on a trusted network or in development.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)
# CIDRs a webhook may reach although not public (private, loopback...): empty, so none.
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", [])
WEBHOOK_CONNECT_TIMEOUT_SECONDS = env_float("WEBHOOK_CONNECT_TIMEOUT_SECONDS", 3.0)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)  # connect + response
# Retries: the n-th retry waits a random time up to the n-th value (full jitter; the last
# value repeats), never past WEBHOOK_RETRY_WINDOW_SECONDS after the event (3 days).
WEBHOOK_RETRY_SCHEDULE_SECONDS = env_list(
    "WEBHOOK_RETRY_SCHEDULE_SECONDS",
    ["5", "300", "1800", "7200", "18000", "36000", "36000", "50400"],
)
try:  # fail at start, not at the first delivery
    WEBHOOK_RETRY_SCHEDULE_SECONDS = [int(value) for value in WEBHOOK_RETRY_SCHEDULE_SECONDS]
    [ipaddress.ip_network(cidr, strict=False) for cidr in WEBHOOK_ALLOWED_NETWORKS]
except ValueError as exc:
    raise ImproperlyConfigured(
        f"WEBHOOK_RETRY_SCHEDULE_SECONDS or _ALLOWED_NETWORKS: {exc}"
    ) from exc
WEBHOOK_RETRY_WINDOW_SECONDS = env_int("WEBHOOK_RETRY_WINDOW_SECONDS", 3 * 24 * 3600)
# A receiver's Retry-After is honoured up to this long.
WEBHOOK_RETRY_AFTER_MAX_SECONDS = env_int("WEBHOOK_RETRY_AFTER_MAX_SECONDS", 6 * 3600)
# The beat job re-sends deliveries this long overdue (their task was lost).
WEBHOOK_SWEEP_GRACE_SECONDS = env_int("WEBHOOK_SWEEP_GRACE_SECONDS", 120)
# After a secret rotation the previous secret also signs for this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env_int("WEBHOOK_SECRET_OVERLAP_SECONDS", 24 * 3600)

# --- Calibration (agents/calibration) --------------------------------------------------------
# A field's calibrator is refitted once it has this many labels more than its latest fit used.
CALIBRATION_REFIT_MIN_NEW_LABELS = env_int("CALIBRATION_REFIT_MIN_NEW_LABELS", 50)
# After a decision, the refit check waits this long, so one check covers a burst of decisions.
CALIBRATION_REFIT_DEBOUNCE_SECONDS = env_int("CALIBRATION_REFIT_DEBOUNCE_SECONDS", 300)
# How long a web process applies its cached calibrators before checking for new ones.
CALIBRATION_CACHE_SECONDS = env_int("CALIBRATION_CACHE_SECONDS", 5)

# --- Workload measures ------------------------------------------------------------------------
# FTE = active review hours in a week / the productive hours one full-time reviewer gives in a
# week (not the contract's 40: breaks, meetings and training come off).
FTE_PRODUCTIVE_HOURS_PER_WEEK = env_float("FTE_PRODUCTIVE_HOURS_PER_WEEK", 30.0)
# Adaptive QA sampling never samples less than this share of auto-accept candidates.
QA_ADAPTIVE_MIN_RATE = env_float("QA_ADAPTIVE_MIN_RATE", 0.005)
# Where a reporting day starts and ends (an IANA name); the team's local time, not the server's.
REPORT_TIME_ZONE = env_str("REPORT_TIME_ZONE", env_str("TIME_ZONE", "UTC"))
# Staffing: the share of items that must be answered within the queue's SLA, and the shifts
# (name, start hour, end hour; local time) the staffing page plans for.
STAFFING_SERVICE_LEVEL = env_float("STAFFING_SERVICE_LEVEL", 0.9)
STAFFING_SHIFTS = env_json(
    "STAFFING_SHIFTS", {"Early": [6, 14], "Late": [14, 22], "Night": [22, 6]}
)

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic writes here and whitenoise serves from here: a writable directory.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Uploaded documents and rendered pages. Any Django storage works: for S3-compatible storage
# install django-storages and set FILE_STORAGE_BACKEND=storages.backends.s3.S3Storage with its
# options as JSON in FILE_STORAGE_OPTIONS ({"bucket_name": "...", "endpoint_url": "..."}).
STORAGES = {
    "default": {
        "BACKEND": env_str("FILE_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env_json("FILE_STORAGE_OPTIONS", {}),
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "agents.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["accountability.parsers.FastJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "accountability.schema.ApiSchema",
    "EXCEPTION_HANDLER": "accountability.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Accountability API",
    "DESCRIPTION": "Agents submit outputs for human review; reviewers claim and decide them.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"DocumentStatusEnum": "review.models.Document.Status"},
}
# Requests to /api/ larger than this are refused with 413 before they are parsed.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
INGEST_BATCH_MAX_ITEMS = env_int("INGEST_BATCH_MAX_ITEMS", 500)
# Files sent inside an item payload as base64; larger files go to POST /api/v1/documents.
INLINE_DOCUMENT_MAX_BYTES = env_int("INLINE_DOCUMENT_MAX_BYTES", 2 * 1024 * 1024)
# Uploaded documents (POST /api/v1/documents): larger files get 413, as does a PDF with more
# pages; PDF pages are rendered at this resolution (and at most 1700 px wide).
DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 25 * 1024 * 1024)
DOCUMENT_MAX_PAGES = env_int("DOCUMENT_MAX_PAGES", 200)
DOCUMENT_RENDER_DPI = env_int("DOCUMENT_RENDER_DPI", 110)
# Personal and agent tokens record their last use at most this often (a write per request
# would double the cost of a single ingest).
TOKEN_LAST_USED_RESOLUTION_SECONDS = env_int("TOKEN_LAST_USED_RESOLUTION_SECONDS", 60)

# --- Production hardening (inactive with DEBUG on) ------------------------------------------
# Only behind a TLS-terminating proxy that sets X-Forwarded-Proto and drops any the client sent:
# trusted without one, any client could claim https.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", False) else None
)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
# Django's database sessions and model backend, read with plain queries (accountability/auth.py).
SESSION_ENGINE = "accountability.auth"
AUTHENTICATION_BACKENDS = ["accountability.auth.UserBackend"]
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
# Both bind every subdomain (preload: for good, through the browsers' lists); see
# https://docs.djangoproject.com/en/5.2/ref/middleware/#http-strict-transport-security
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

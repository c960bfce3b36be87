"""Settings for qbo-sync, read once from the environment (``.env`` when present).

A real environment variable always wins over ``.env``. Invalid values stop start-up with
one line naming the variable (see ``qbproject.envconf``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from qbproject.devkey import development_secret_key
from qbproject.envconf import (
    bool_setting,
    choice_setting,
    database_setting,
    fernet_keys_setting,
    float_setting,
    int_setting,
    report_bases_setting,
    schema_setting,
    str_setting,
    time_zone_setting,
    url_setting,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# .env fills only what the real environment leaves unset (overwrite=False is the default).
_env_file = Path(os.environ.get("QBO_SYNC_ENV_FILE", BASE_DIR / ".env"))
if _env_file.is_file():
    environ.Env.read_env(_env_file)

# --- Django core -------------------------------------------------------------------------
DEBUG = bool_setting("DJANGO_DEBUG", False)
_SECURE = bool_setting("DJANGO_SECURE", False)
if DEBUG and _SECURE:
    # Debug pages show settings, request data and local variables: never in production.
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=true cannot be combined with DJANGO_SECURE=true: debug error pages "
        "would expose request data in production; unset DJANGO_DEBUG."
    )
SECRET_KEY = str_setting("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    # Never a shared constant. Development (DEBUG) and pytest (PYTEST_VERSION, set by
    # pytest for its session) use a random per-checkout key kept in a git-ignored file.
    if DEBUG or os.environ.get("PYTEST_VERSION"):
        SECRET_KEY = development_secret_key()
    else:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: set it to a long random value (generate one with "
            '`python -c "from django.core.management.utils import get_random_secret_key; '
            'print(get_random_secret_key())"`), or set DJANGO_DEBUG=true for local development.'
        )
ALLOWED_HOSTS = [
    h.strip()
    for h in str_setting("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in str_setting("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "quickbooks_sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ (the admin's CSS) from the app itself, also with DEBUG off.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "qbproject.urls"
WSGI_APPLICATION = "qbproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": database_setting("DATABASE_URL", "sqlite:///quickbooks.db")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _name = DATABASES["default"]["NAME"]
    if _name and not os.path.isabs(_name) and _name != ":memory:":
        DATABASES["default"]["NAME"] = str(BASE_DIR / _name)
    # Wait for a busy writer instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    # WAL: readers (admin, reports) never block the sync's writes and a commit costs one
    # fsync-free append; synchronous=NORMAL stays durable across process crashes.
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
if str_setting("DATABASE_TEST_NAME"):
    # Lets parallel test runs share one PostgreSQL server without clobbering each other.
    DATABASES["default"]["TEST"] = {"NAME": str_setting("DATABASE_TEST_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Times in the admin (and this process's local time) are the company's: accountants read
# "10:05" as their office's 10:05. Stored values stay UTC.
TIME_ZONE = time_zone_setting("QB_COMPANY_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# `manage.py collectstatic --noinput` gathers the admin's files here; WhiteNoise serves
# them (compressed, with content-hashed names cached for a year) from the WSGI app, so
# `runserver` with DJANGO_DEBUG=false and gunicorn show a styled admin with no web server.
STATIC_ROOT = Path(str_setting("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "quickbooks_sync.staticstorage.StaticStorage"},
}
# Also serve files straight from the apps, so a checkout that skipped collectstatic still
# gets a styled admin (with short cache lifetimes) instead of bare HTML.
WHITENOISE_USE_FINDERS = True
# Error pages and error mails mask URL credentials, registered secrets and OAuth query
# parameters, and honour sensitive_variables even with DEBUG on (qbproject/debug.py).
DEFAULT_EXCEPTION_REPORTER = "qbproject.debug.SecretsExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "qbproject.debug.SecretsReporterFilter"

# --- Production hardening (`manage.py check --deploy` passes with DJANGO_SECURE=true) -----
if _SECURE:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- QuickBooks Online ---------------------------------------------------------------------
QB_ENVIRONMENT = choice_setting("QB_ENVIRONMENT", "sandbox", ("sandbox", "production"))
QB_CLIENT_ID = str_setting("QB_CLIENT_ID")
QB_CLIENT_SECRET = str_setting("QB_CLIENT_SECRET")
QB_AUTHORIZATION_CODE = str_setting("QB_AUTHORIZATION_CODE")
QB_REALM_ID = str_setting("QB_REALM_ID")
QB_REDIRECT_URI = str_setting(
    "QB_REDIRECT_URI", "https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl"
)
# Entities a cycle syncs, comma-separated QBO names (default: every declared entity);
# checked against quickbooks_sync/registry.py when the app starts.
QB_ENTITIES = tuple(n.strip() for n in str_setting("QB_ENTITIES").split(",") if n.strip())
QB_MAX_RESULTS = int_setting("QB_MAX_RESULTS", 1000, minimum=1, maximum=1000)
QB_API_BASE_URL = url_setting(
    "QB_API_BASE_URL",
    "https://quickbooks.api.intuit.com"
    if QB_ENVIRONMENT == "production"
    else "https://sandbox-quickbooks.api.intuit.com",
)
QB_OAUTH_TOKEN_URL = url_setting(
    "QB_OAUTH_TOKEN_URL", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
)
QB_MINOR_VERSION = int_setting("QB_MINOR_VERSION", 75, minimum=75, maximum=999)
# Fernet key(s) that encrypt tokens at rest; comma-separated, newest first, for rotation.
QB_TOKEN_ENCRYPTION_KEY = fernet_keys_setting("QB_TOKEN_ENCRYPTION_KEY")
# HTTP behaviour: timeouts, retries, throttling (Intuit: 500 req/min, 10 in flight per realm).
QB_CONNECT_TIMEOUT = float_setting("QB_CONNECT_TIMEOUT", 10.0, minimum=0.1, maximum=120)
QB_READ_TIMEOUT = float_setting("QB_READ_TIMEOUT", 60.0, minimum=0.1, maximum=600)
# Per request: the largest body read (after decompression) and the deadline from sending
# to the last byte, which also cuts off a server that trickles bytes (qbo/http.py).
QB_MAX_RESPONSE_BYTES = int_setting(
    "QB_MAX_RESPONSE_BYTES", 64 * 1024 * 1024, minimum=1024, maximum=2**40
)
QB_REQUEST_DEADLINE_SECONDS = float_setting(
    "QB_REQUEST_DEADLINE_SECONDS", 300.0, minimum=1, maximum=3600
)
QB_MAX_RETRIES = int_setting("QB_MAX_RETRIES", 4, minimum=0, maximum=20)
QB_THROTTLE_BACKOFF_SECONDS = float_setting(
    "QB_THROTTLE_BACKOFF_SECONDS", 60.0, minimum=0, maximum=3600
)
QB_RETRY_BACKOFF_SECONDS = float_setting("QB_RETRY_BACKOFF_SECONDS", 1.0, minimum=0, maximum=600)
QB_REQUESTS_PER_MINUTE = int_setting("QB_REQUESTS_PER_MINUTE", 480, minimum=1, maximum=100000)
QB_MAX_IN_FLIGHT = int_setting("QB_MAX_IN_FLIGHT", 8, minimum=1, maximum=10)
# PostgreSQL: prepare the page upsert once per connection (off behind PgBouncer in
# transaction mode before 1.21, which cannot keep prepared statements).
QB_PG_PREPARED_STATEMENTS = bool_setting("QB_PG_PREPARED_STATEMENTS", True)
# Disjoint LastUpdatedTime ranges a large backfill reads at once (each one request in
# flight at a time); bounded by QB_MAX_IN_FLIGHT through the per-realm budget.
QB_FETCH_CONCURRENCY = int_setting("QB_FETCH_CONCURRENCY", 4, minimum=1, maximum=10)
# Entities of one realm read at once on a full read (one thread does every database
# write); bounded by QB_MAX_IN_FLIGHT through the per-realm budget. 1: one after another.
QB_ENTITY_CONCURRENCY = int_setting("QB_ENTITY_CONCURRENCY", 4, minimum=1, maximum=10)
# Refresh the access token this many seconds before it expires.
QB_TOKEN_REFRESH_MARGIN_SECONDS = int_setting(
    "QB_TOKEN_REFRESH_MARGIN_SECONDS", 300, minimum=0, maximum=3000
)
# The cursor never moves past QBO's own clock minus this lag (late-visible writes).
QB_SETTLE_SECONDS = int_setting("QB_SETTLE_SECONDS", 60, minimum=0, maximum=3600)
# Entities QBO's CDC refuses (TaxCode, TaxRate, TaxAgency, TimeActivity) are proven
# complete by a full reconcile at most this many hours apart (registry ``cdc=False``).
QB_RECONCILE_NO_CDC_HOURS = int_setting("QB_RECONCILE_NO_CDC_HOURS", 24, minimum=1, maximum=24 * 31)
# CompanyInfo, Preferences and ExchangeRate are re-read at most this often (an idle cycle
# between two reads stays one CDC request per realm).
QB_COMPANY_FACTS_MINUTES = int_setting("QB_COMPANY_FACTS_MINUTES", 60, minimum=0, maximum=24 * 60)

SYNC_INTERVAL_MINUTES = float_setting("SYNC_INTERVAL_MINUTES", 5, minimum=0.01, maximum=1440)
# Workers claim a realm for this long and renew the claim while they work; a worker that
# dies loses its realms after this many seconds.
SYNC_LEASE_SECONDS = float_setting("SYNC_LEASE_SECONDS", 120, minimum=1, maximum=3600)
# How often an idle `runsync --loop` worker looks for due realms.
SYNC_POLL_SECONDS = float_setting("SYNC_POLL_SECONDS", 5, minimum=0.05, maximum=600)
# Longest back-off of a realm that keeps failing (it never starves the others).
SYNC_MAX_BACKOFF_MINUTES = float_setting(
    "SYNC_MAX_BACKOFF_MINUTES", 60, minimum=0.01, maximum=10080
)

# --- Reports and the money tie-out (quickbooks_sync/money) -------------------------------------
# Reports API budget per realm, apart from the general one (Intuit's historic figure: 200/min).
QB_REPORTS_PER_MINUTE = int_setting("QB_REPORTS_PER_MINUTE", 200, minimum=1, maximum=100000)
# Months mirrored month by month (plus the year to date), and the bases asked for.
QB_REPORT_MONTHS = int_setting("QB_REPORT_MONTHS", 12, minimum=1, maximum=60)
QB_REPORT_BASES = report_bases_setting("QB_REPORT_BASES", "Accrual,Cash")
# The worker mirrors a realm's reports (and re-runs the tie-out) after its sync cycle when
# the last mirror is older than this; 0 turns the scheduled mirror off.
QB_REPORT_INTERVAL_HOURS = float_setting("QB_REPORT_INTERVAL_HOURS", 24, minimum=0, maximum=8760)

# --- Connect flow and webhooks (Intuit developer portal: Keys and Webhooks pages) ----------
QB_AUTHORIZE_URL = url_setting("QB_AUTHORIZE_URL", "https://appcenter.intuit.com/connect/oauth2")
QB_OAUTH_REVOKE_URL = url_setting(
    "QB_OAUTH_REVOKE_URL", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
)
# Where Intuit sends the browser back after consent; default: this site's /quickbooks/callback/
QB_CONNECT_REDIRECT_URI = str_setting("QB_CONNECT_REDIRECT_URI")
QB_SCOPES = str_setting("QB_SCOPES", "com.intuit.quickbooks.accounting")
# Verifier token from the app's Webhooks page (signs every notification).
QB_WEBHOOK_VERIFIER_TOKEN = str_setting("QB_WEBHOOK_VERIFIER_TOKEN")

# --- Analytics views for fivetran/dbt_quickbooks (PostgreSQL only) -------------------------
# Schema of the views `migrate` keeps in step; empty string: no views.
QB_ANALYTICS_SCHEMA = schema_setting("QB_ANALYTICS_SCHEMA", "quickbooks")
# Show only this company in that schema (ids collide across companies).
QB_ANALYTICS_REALM = str_setting("QB_ANALYTICS_REALM")
# Instead, one schema per company: <schema>_<realm id>, each showing only that company.
QB_ANALYTICS_PER_REALM = bool_setting("QB_ANALYTICS_PER_REALM", False)
if QB_ANALYTICS_PER_REALM and QB_ANALYTICS_REALM:
    raise ImproperlyConfigured(
        "QB_ANALYTICS_PER_REALM=true and QB_ANALYTICS_REALM are exclusive: per-realm schemas "
        "already show one company each; unset one of them."
    )
if QB_ANALYTICS_REALM and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", QB_ANALYTICS_REALM):
    raise ImproperlyConfigured(
        f"QB_ANALYTICS_REALM={QB_ANALYTICS_REALM!r} is invalid: expected a QBO company id "
        "(realm id) such as 9130357766912345."
    )

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = choice_setting(
    "LOG_LEVEL", "info", ("debug", "info", "warning", "error", "critical")
).upper()
LOG_FORMAT = choice_setting("LOG_FORMAT", "text", ("text", "json"))

# Every handler carries the redaction filter, Django's own included: runserver's access
# log ("django.server") used to print /quickbooks/callback/?code=... in clear, and the
# default "django" console handler printed unfiltered under DEBUG.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "quickbooks_sync.logging.RedactSecretsFilter"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "quickbooks_sync.logging.JsonFormatter"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact"],
        },
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "django.server",
            "filters": ["redact"],
        },
        "mail_admins": {
            "level": "ERROR",
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's defaults, whose handlers have no redaction filter.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # urllib3 at DEBUG logs full request lines; requests_oauthlib logs token bodies.
        "urllib3": {"level": "WARNING"},
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
    },
}

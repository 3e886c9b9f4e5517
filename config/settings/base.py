"""Settings every environment shares: each value comes from the environment, parsed strictly.

Importing this module starts nothing and writes nothing. The environment modules
beside it build on it: `dev` (a checkout: `make demo`, `manage.py`), `test` (the
suite) and `production` (the default of manage.py, wsgi and Celery). Only `dev`
and `test` start the embedded PostgreSQL/Redis, and only when DATABASE_URL /
REDIS_URL are unset. See docs/operations.md for every variable; secrets accept a
`NAME_FILE` variant.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from astro.core import crypto, embedded
from astro.core.api.rates import parse_rate
from astro.core.env import (
    env_bool,
    env_choice,
    env_decimal,
    env_int,
    env_int_mapping,
    env_list,
    env_str,
    parse_inventories,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Off unless an environment module or the DEBUG variable says otherwise; every value
# that depends on it is set by `apply_debug_defaults` at the end of each module.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", None)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # First, so that its admin/base_site.html (the console's look) overrides the admin's.
    "astro.core",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "astro.steam",
    "axes",
    "astro.integrations",
    "astro.console",
    "audit",
    "items",
    "assignments",
    "sync",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# ------------------------------------------------------------------ services
# Required here; `dev` and `test` export the embedded servers' URLs first when unset.
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")


def _database(url_variable: str, url: str, password_variable: str) -> dict:
    """One connection's settings from its URL; the password may come from a file
    (`*_PASSWORD_FILE`, a mounted secret), since a URL cannot read one."""
    database = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if not database["ENGINE"].endswith("postgresql"):
        raise ImproperlyConfigured(f"{url_variable} must point at PostgreSQL; Astro uses no other database.")
    password = env_str(password_variable, None)
    if password is not None:
        database["PASSWORD"] = password
    return database


# Two roles in production (docs/operations.md, "Database roles"): DATABASE_URL is the
# application's, which owns nothing and may only read and append the audit trail;
# DATABASE_OWNER_URL the owner's, used only by `migrate`, which also grants the
# application role its rights. Without an owner URL one role does both (a checkout).
DATABASES = {
    "default": {
        **_database("DATABASE_URL", DATABASE_URL, "DATABASE_PASSWORD"),
        "TEST": {"NAME": env_str("ASTRO_TEST_DATABASE", "test_astro")},
    }
}
DATABASE_OWNER_URL = env_str("DATABASE_OWNER_URL", None)
if DATABASE_OWNER_URL:
    DATABASES["owner"] = {
        **_database("DATABASE_OWNER_URL", DATABASE_OWNER_URL, "DATABASE_OWNER_PASSWORD"),
        # The same database as default: tests never create a second one for it.
        "TEST": {"MIRROR": "default"},
    }

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "astro"),
        # JSON, never pickle: whoever can write Redis must not run code in Astro.
        "OPTIONS": {"serializer": "astro.core.cache.JSONSerializer"},
    }
}

# Fernet keys for secrets at rest (astro/core/crypto.py), newest first; required
# when DEBUG is off, generated into .astro/ in DEBUG (apply_debug_defaults).
ASTRO_ENCRYPTION_KEYS = crypto.parse_keys(env_str("ASTRO_ENCRYPTION_KEYS", None))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".astro" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Request bodies above this are refused (413) before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 256 * 1024, minimum=1024)

# ------------------------------------------------------------------ security
# Behind a TLS-terminating proxy: trust its X-Forwarded-Proto, redirect plain HTTP
# to HTTPS and send HSTS, so `manage.py check --deploy` is clean. The health check
# stays reachable over plain HTTP (load balancers probe it that way).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", BEHIND_TLS_PROXY)
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if BEHIND_TLS_PROXY else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", BEHIND_TLS_PROXY)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD:
    # Preloading is a commitment to the browser vendors that is slow to undo: opt-in
    # (SECURE_HSTS_PRELOAD=true), so its deploy-check reminder is silenced until then.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# How many proxies in front add an X-Forwarded-For entry we trust (astro.core.clientip).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)

# Admin logins: a session lasts ADMIN_SESSION_AGE_SECONDS; failed logins are counted
# by django-axes per username *and* address, so one attacker cannot lock every
# operator out, and a lockout is written to the audit trail (astro/console).
SESSION_COOKIE_AGE = env_int("ADMIN_SESSION_AGE_SECONDS", 12 * 3600, minimum=300)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "astro.core.clientip.client_ip"
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        # The delivery poll runs every DELIVERY_POLL_INTERVAL_SECONDS; Celery's routine
        # lines about it would drown the log (warnings and errors still show).
        "routine_tasks": {"()": "astro.core.logfilters.RoutineTaskFilter", "tasks": ["assignments.poll_offers"]},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["routine_tasks"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # steampy and urllib3 would log request URLs that carry tokens at DEBUG.
        "urllib3": {"level": "WARNING"},
        "steampy": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print every request warning a
        # second time, unformatted; its records reach the root handler anyway.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# -------------------------------------------------------------------- Celery
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# One message at a time per worker process: a slow Steam call must not hold
# other deliveries hostage in a prefetch buffer.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Late acks are opted into per task (only idempotent tasks); this is the default.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=10)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=15)
# The longest countdown/ETA any task uses (retry backoff is capped at this).
CELERY_MAX_COUNTDOWN_SECONDS = env_int("CELERY_MAX_COUNTDOWN_SECONDS", 3600, minimum=60)
# Redis redelivers an unacked message after the visibility timeout; it must be
# longer than any countdown, or a scheduled retry would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": max(2 * CELERY_MAX_COUNTDOWN_SECONDS, env_int("CELERY_VISIBILITY_TIMEOUT", 7200)),
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --------------------------------------------------------------------- Steam
# Live Steam when credentials are set; the local sandbox otherwise.
STEAM_USERNAME = env_str("STEAM_USERNAME", None)
STEAM_MODE = env_choice("STEAM_MODE", "live" if STEAM_USERNAME else "sandbox", {"live", "sandbox"})
# Neither STEAM_MODE nor STEAM_USERNAME given: only a checkout may fall back to the
# sandbox (apply_debug_defaults refuses it when DEBUG is off).
STEAM_MODE_DEFAULTED = env_str("STEAM_MODE", None) is None and STEAM_USERNAME is None
STEAM_SANDBOX_URL = env_str("STEAM_SANDBOX_URL", "http://127.0.0.1:8765")
STEAM_SANDBOX_STATE_DIR = Path(env_str("STEAM_SANDBOX_STATE_DIR", str(embedded.data_root() / "sandbox")))
STEAM_INVENTORIES = parse_inventories("STEAM_INVENTORIES", "730/2,730/16,440/2")
STEAM_HTTP_TIMEOUT_SECONDS = env_int("STEAM_HTTP_TIMEOUT_SECONDS", 20, minimum=1)
STEAM_INVENTORY_PAGE_SIZE = env_int("STEAM_INVENTORY_PAGE_SIZE", 1000, minimum=1, maximum=1000)
STEAM_MARKET_CURRENCY = env_int("STEAM_MARKET_CURRENCY", 1, minimum=1)

if STEAM_MODE == "sandbox":
    # The sandbox's bot account: known, fake credentials (steam_sandbox/account.py).
    STEAM_USERNAME = STEAM_USERNAME or "astro_sandbox_bot"
    STEAM_PASSWORD = env_str("STEAM_PASSWORD", "sandbox-password")
    STEAM_SHARED_SECRET = env_str("STEAM_SHARED_SECRET", "c2FuZGJveC1zaGFyZWQtc2VjcmV0LTAwMA==")
    STEAM_IDENTITY_SECRET = env_str("STEAM_IDENTITY_SECRET", "c2FuZGJveC1pZGVudGl0eS1zZWNyZXQtMDA=")
    STEAM_API_KEY = env_str("STEAM_API_KEY", "0123456789ABCDEF0123456789ABCDEF")
else:
    STEAM_PASSWORD = env_str("STEAM_PASSWORD", None)
    STEAM_SHARED_SECRET = env_str("STEAM_SHARED_SECRET", None)
    STEAM_IDENTITY_SECRET = env_str("STEAM_IDENTITY_SECRET", None)
    STEAM_API_KEY = env_str("STEAM_API_KEY", None)
# A mobile-app refresh token the operator hands over (stored encrypted in bot_sessions
# on first use; a browser one is refused), and a browser session as the last resort.
STEAM_REFRESH_TOKEN = env_str("STEAM_REFRESH_TOKEN", None)
STEAM_LOGIN_COOKIES = env_str("STEAM_LOGIN_COOKIES", None)
# The mobile-app login polls Steam at its interval for at most this long.
STEAM_LOGIN_TIMEOUT_SECONDS = env_int("STEAM_LOGIN_TIMEOUT_SECONDS", 30, minimum=5, maximum=300)
# Access tokens (~24 h) are renewed from the refresh token this long before they end...
STEAM_ACCESS_TOKEN_RENEW_MARGIN_SECONDS = env_int("STEAM_ACCESS_TOKEN_RENEW_MARGIN_SECONDS", 300, minimum=30, maximum=6 * 3600)
# ...and a new refresh token (~200 days) is asked for in its last this many days.
STEAM_REFRESH_TOKEN_RENEW_DAYS = env_int("STEAM_REFRESH_TOKEN_RENEW_DAYS", 30, minimum=1, maximum=180)
# Steam's clock (QueryTime) for Steam Guard codes and confirmation keys, asked again this often.
STEAM_TIME_SYNC_SECONDS = env_int("STEAM_TIME_SYNC_SECONDS", 3600, minimum=60)
# Inventory pages per Steam host, across all processes (Retry-After pushes it back).
STEAM_INVENTORY_PACING_SECONDS = env_int("STEAM_INVENTORY_PACING_SECONDS", 4, minimum=0, maximum=120)
# Mobile confirmation rounds (getlist + multiajaxop) per bot, across all processes.
STEAM_CONFIRMATION_PACING_SECONDS = env_int("STEAM_CONFIRMATION_PACING_SECONDS", 10, minimum=0, maximum=300)

# ------------------------------------------------------------------ delivery
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 3, minimum=1, maximum=20)
# Per assignment type, e.g. "giveaway:5,shop:2".
DELIVERY_MAX_ATTEMPTS_BY_TYPE = env_int_mapping("DELIVERY_MAX_ATTEMPTS_BY_TYPE")
DELIVERY_RETRY_BASE_SECONDS = env_int("DELIVERY_RETRY_BASE_SECONDS", 60, minimum=1)
DELIVERY_OFFER_LIFETIME_SECONDS = env_int("DELIVERY_OFFER_LIFETIME_SECONDS", 6 * 3600, minimum=60)
# The poller wakes this often (beat). Each wake reads the offers sent moments ago
# (GetTradeOffer, at doubling ages up to DELIVERY_OFFER_READ_WINDOW_SECONDS) and
# lists our sent offers (GetTradeOffers) only when a listing is due:
DELIVERY_POLL_INTERVAL_SECONDS = env_int("DELIVERY_POLL_INTERVAL_SECONDS", 2, minimum=1)
# at most one listing per bot this often while offers or sends are outstanding,
DELIVERY_LISTING_ACTIVE_SECONDS = env_int("DELIVERY_LISTING_ACTIVE_SECONDS", 10, minimum=1)
# and this often when nothing is (stray offers of ours are still found and cancelled);
DELIVERY_LISTING_IDLE_SECONDS = env_int("DELIVERY_LISTING_IDLE_SECONDS", 60, minimum=1)
# a listing reaching back over the whole time since the previous one this often (Steam backdates changes).
DELIVERY_FULL_REFRESH_SECONDS = env_int("DELIVERY_FULL_REFRESH_SECONDS", 300, minimum=10)
DELIVERY_OFFER_READ_WINDOW_SECONDS = env_int("DELIVERY_OFFER_READ_WINDOW_SECONDS", 32, minimum=0, maximum=3600)
# Each delivered trade is read again (GetTradeStatus) this often while it can still be reverted.
DELIVERY_REVERT_CHECK_SECONDS = env_int("DELIVERY_REVERT_CHECK_SECONDS", 3600, minimum=60)
# The partner's trade hold is read before the first send; above this many days the
# assignment waits (escrow_hold), is looked at again every STEAM_HOLD_RECHECK_HOURS,
# and fails after STEAM_HOLD_MAX_WAIT_DAYS.
STEAM_MAX_TRADE_HOLD_DAYS = env_int("STEAM_MAX_TRADE_HOLD_DAYS", 0, minimum=0, maximum=365)
STEAM_HOLD_RECHECK_HOURS = env_int("STEAM_HOLD_RECHECK_HOURS", 6, minimum=1, maximum=24 * 30)
STEAM_HOLD_MAX_WAIT_DAYS = env_int("STEAM_HOLD_MAX_WAIT_DAYS", 7, minimum=1, maximum=365)
DELIVERY_STUCK_AFTER_SECONDS = env_int("DELIVERY_STUCK_AFTER_SECONDS", 300, minimum=10)
# The sweeper takes over an attempt that has been quiet this long; a worker still
# inside its task must never be taken over, so this may not be shorter than a task may run.
if DELIVERY_STUCK_AFTER_SECONDS < CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"DELIVERY_STUCK_AFTER_SECONDS={DELIVERY_STUCK_AFTER_SECONDS} must be at least "
        f"CELERY_TASK_TIME_LIMIT={CELERY_TASK_TIME_LIMIT}."
    )

# ---------------------------------------------------------------------- sync
SYNC_INTERVAL_SECONDS = env_int("SYNC_INTERVAL_SECONDS", 300, minimum=30)
# A sync reads every page at Steam's pace (STEAM_INVENTORY_PACING_SECONDS apart): a
# 100,000-item inventory alone is 100 pages, over 400 s. Its task gets this long, not
# the 5 minutes of CELERY_TASK_TIME_LIMIT (its soft limit a minute earlier).
SYNC_TASK_TIME_LIMIT_SECONDS = env_int("SYNC_TASK_TIME_LIMIT_SECONDS", 1800, minimum=120)
SYNC_MAX_REMOVALS_ABSOLUTE = env_int("SYNC_MAX_REMOVALS_ABSOLUTE", 50, minimum=0)
SYNC_MAX_REMOVALS_PERCENT = env_decimal("SYNC_MAX_REMOVALS_PERCENT", "10")
MARKET_PRICE_MAX_AGE_SECONDS = env_int("MARKET_PRICE_MAX_AGE_SECONDS", 6 * 3600, minimum=60)
MARKET_PRICE_REQUESTS_PER_MINUTE = env_int("MARKET_PRICE_REQUESTS_PER_MINUTE", 20, minimum=1)

# ----------------------------------------------------------------------- API
API_MAX_ITEMS_PER_ASSIGNMENT = env_int("API_MAX_ITEMS_PER_ASSIGNMENT", 50, minimum=1, maximum=1000)
API_MAX_EXTERNAL_CONTEXT_BYTES = env_int("API_MAX_EXTERNAL_CONTEXT_BYTES", 16 * 1024, minimum=256)
API_DEFAULT_RATE_LIMIT = env_str("API_DEFAULT_RATE_LIMIT", "600/min")
IDEMPOTENCY_KEY_TTL_HOURS = env_int("IDEMPOTENCY_KEY_TTL_HOURS", 48, minimum=24)
# A new external system's ceiling on assignmentPriority (changed per system in the admin).
API_DEFAULT_MAX_PRIORITY = env_int("API_DEFAULT_MAX_PRIORITY", 0, minimum=-1000, maximum=1000)
# Requests without a valid key, per client address (TRUSTED_PROXY_COUNT): a key guesser
# or a broken client is slowed down before its requests reach the database.
API_ANON_RATE = env_str("API_ANON_RATE", "60/min")
try:
    parse_rate(API_ANON_RATE)
except ValueError as exc:
    raise ImproperlyConfigured(f"API_ANON_RATE: {exc}.") from None

REST_FRAMEWORK = {
    # By dotted path: the apps' views never import astro.integrations, which owns the keys.
    "DEFAULT_AUTHENTICATION_CLASSES": ["astro.integrations.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["astro.integrations.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["astro.integrations.auth.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Astro integration API",
    "DESCRIPTION": "Assign items from the Astro bot's pool to Steam users, and follow their delivery.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # 3.1: full JSON Schema, so the schema can state what Astro refuses (e.g. propertyNames).
    "OAS_VERSION": "3.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"UnavailableReasonEnum": "assignments.services.UNAVAILABLE_REASONS"},
    # The default enum hook, then the links between operations (astro.core.api.schema.LINKS).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "astro.core.api.schema.add_links"],
}


# ------------------------------------------------------------------- wiring
# Named by dotted path so that settings, not imports, join the layers
# (docs/architecture.md): the console's `setup_periodic_tasks` reads the list here.
ASTRO_SCHEDULES = "config.schedules.SCHEDULES"


def apply_debug_defaults(namespace: dict) -> None:
    """Set what follows from DEBUG, once the environment module has decided DEBUG.

    Every module calls this last. With DEBUG off a real SECRET_KEY is required; with
    it on, one random key per checkout is kept in .astro/ so sessions survive restarts.
    """
    debug = namespace["DEBUG"]
    if not namespace.get("SECRET_KEY"):
        if not debug:
            raise ImproperlyConfigured(
                "SECRET_KEY is required when DEBUG is off (set SECRET_KEY or SECRET_KEY_FILE)."
            )
        namespace["SECRET_KEY"] = embedded.dev_secret_key()
    if not namespace.get("ASTRO_ENCRYPTION_KEYS"):
        if not debug:
            raise ImproperlyConfigured(
                "ASTRO_ENCRYPTION_KEYS is required when DEBUG is off (set ASTRO_ENCRYPTION_KEYS or "
                "ASTRO_ENCRYPTION_KEYS_FILE; docs/operations.md says how to make a key)."
            )
        namespace["ASTRO_ENCRYPTION_KEYS"] = [crypto.dev_encryption_key()]
    if not debug and namespace["STEAM_MODE_DEFAULTED"]:
        # A production box with no Steam credentials must say which Steam it talks to:
        # it must never run on the sandbox without someone having asked for that.
        raise ImproperlyConfigured(
            "STEAM_MODE is required when DEBUG is off and STEAM_USERNAME is empty: set STEAM_MODE=live "
            "(with the STEAM_* credentials) or STEAM_MODE=sandbox (the emulator, for a trial)."
        )
    namespace["ALLOWED_HOSTS"] = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if debug else [])
    namespace["SESSION_COOKIE_SECURE"] = env_bool("SESSION_COOKIE_SECURE", not debug)
    namespace["CSRF_COOKIE_SECURE"] = env_bool("CSRF_COOKIE_SECURE", not debug)

"""One settings module for every mode; the environment decides.

Development defaults need no server at all (SQLite and Celery's filesystem transport under var/).
Production mode is the default: it insists on a real SECRET_KEY and ALLOWED_HOSTS and turns on the
security settings that `manage.py check --deploy` looks for. `DEBUG=1` is development mode (`make run` and
the test suite set it).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from slaportal.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SLAPORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "Set SECRET_KEY to a long random value (production mode is the default; DEBUG=1 is development)."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set ALLOWED_HOSTS to the host names this site answers to, such as sla.example.com (or DEBUG=1)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Absolute base of links in e-mails and webhooks, which are sent outside any request.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "agreements",
    "leads",
    "reporting",
    "integrations",
    "demo",
    "slaportal.apps.SlaPortalConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "integrations.api.common.ApiBodyLimitMiddleware",
    "integrations.api.common.RateLimitHeaders",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "agreements.timezones.UserTimeZone",
    "slaportal.middleware.SecurityHeaders",
    "slaportal.middleware.HtmxSignInRedirect",
    "axes.middleware.AxesMiddleware",  # last: it turns a sign-in refused by a lockout into the lockout page
]

ROOT_URLCONF = "slaportal.urls"
WSGI_APPLICATION = "slaportal.wsgi.application"
ASGI_APPLICATION = "slaportal.asgi.application"

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
                "slaportal.roles.roles_context",
                "slaportal.views.notices_context",
            ],
        },
    },
]

if "DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded SQLite database lives here
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The API's throttle counts live in the cache: share one (Redis) between processes in production.
_CACHE_URL = env_str("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
    if _CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A session ends when the browser closes, or after a working day without a request (each request
# starts the count again).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Sent with every response (slaportal.middleware.SecurityHeaders). Scripts only from our own static files
# (htmx and ours): no inline script, no eval. Styles may be inline too: the admin and the API docs set
# some, and a style cannot run code.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
# Sign-in lockout (django-axes), for the login page and the admin's alike: after LOGIN_FAILURES wrong
# passwords for one account, or from one address, signing in is refused (429 with Retry-After) for
# LOGIN_LOCKOUT_SECONDS, the right password included. The answer is the same whether the account exists
# or not. Admins see and lift lockouts in the admin (Axes: access attempts) or with `manage.py axes_reset`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(seconds=env_int("LOGIN_LOCKOUT_SECONDS", 900))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Not axes's reset on success, which clears an address's failures for every account (so guessing one
# account's password between sign-ins to one's own would never pause): slaportal.lockout clears only the
# failures of the account that signed in, from where it signed in.
AXES_RESET_ON_SUCCESS = False
# More wrong passwords during a pause do not lengthen it. (Anyone may still pause an account by guessing
# wrong every LOGIN_LOCKOUT_SECONDS: the price of counting per account; an admin can lift it.)
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "slaportal.lockout.locked_out"
AXES_CLIENT_IP_CALLABLE = "slaportal.clientip.client_ip"
# Proxies of our own in front of the app (a load balancer, a TLS proxy); 0 counts by REMOTE_ADDR alone.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: printed to the console in development; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# Seconds an SMTP server may take at each step, so a stalled one cannot hold a delivery for ever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SLA Portal <sla-portal@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "integrations.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser's session, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "integrations.authentication.TokenScope",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's, hardened: any body is a 400 at worst (nesting, numbers, encodings, NUL).
    "DEFAULT_PARSER_CLASSES": ["integrations.api.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "integrations.api.negotiation.ProblemAwareNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["integrations.authentication.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("API_THROTTLE_RATE", "3000/min")},
    "EXCEPTION_HANDLER": "integrations.api.common.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SLA Portal API",
    # The integration guide, shown at the top of /api/docs/; one file, also linked from the README.
    "DESCRIPTION": (BASE_DIR / "integrations" / "api" / "guide.md").read_text(encoding="utf-8"),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",  # 3.1 for the `webhooks` section: every event's payload, described
    "CONTACT": {"name": "The administrators of this SLA Portal", "url": f"{SITE_URL}/"},
    "LICENSE": {"name": "MIT", "identifier": "MIT"},
    # Relative: the schema describes the server that serves it, whatever its host.
    "SERVERS": [{"url": "/api/v1", "description": "This SLA Portal"}],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    # An operation's tag is the first word of its path.
    "TAGS": [
        {"name": "leads", "description": "Send leads in, find them, and act on them as sales does."},
        {"name": "activities", "description": "Engagement (webinars, downloads, clicks) that warms leads."},
        {"name": "agreements", "description": "The SLA in force: every clause that drives the pipeline."},
        {"name": "reports", "description": "The shared figures, live and as published each month."},
        {
            "name": "simulations",
            "description": "What-ifs: a draft's clauses replayed against past leads, beside the record.",
        },
        {"name": "webhooks", "description": "Subscriptions to signed event deliveries, and their log."},
        {"name": "ping", "description": "Check a token."},
    ],
    "PREPROCESSING_HOOKS": ["integrations.api.schema.documented_paths_only"],
    "WEBHOOKS": "integrations.api.schema.WEBHOOKS",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integrations.api.schema.finish",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files, never a CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TemperatureEnum": "leads.models.Temperature",
        "IcpFieldEnum": "agreements.clauses.icp.ICP_FIELDS",
        "IcpOperatorEnum": "agreements.clauses.icp.OPERATORS",
    },
}
# Wrong API tokens from one address: after this many within the window (seconds), the address is refused
# (429 with Retry-After) until the window ends.
API_AUTH_FAILURES = env_int("API_AUTH_FAILURES", 20)
API_AUTH_FAILURE_WINDOW = env_int("API_AUTH_FAILURE_WINDOW", 300)
# The API takes bodies of at most 1 MiB (a list of 1,000 activities fits easily); larger ones get a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# The owner is reminded when this share of the pickup time (in business hours) has passed; 0 turns it off.
PICKUP_REMINDER_SHARE = env_float("PICKUP_REMINDER_SHARE", 0.75)
if not 0 <= PICKUP_REMINDER_SHARE < 1:
    raise ImproperlyConfigured("PICKUP_REMINDER_SHARE must be at least 0 and below 1, such as 0.75.")
# Webhook URLs that resolve to internal addresses are refused unless their host is named here.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
# Fernet keys that seal webhook secrets in the database (integrations.crypto): the first seals, all
# unseal. Empty: one derived from SECRET_KEY (so list that one before changing SECRET_KEY).
SECRETS_KEYS = env_list("SECRETS_KEYS", [])
# A webhook receiver must answer (status line and headers) within this many seconds, all told.
WEBHOOK_DEADLINE_SECONDS = env_float("WEBHOOK_DEADLINE_SECONDS", 10.0)
# A receiver whose deliveries have failed this many times in a row, over at least this many days, is
# turned off and the subscription's maker told.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20)
WEBHOOK_DISABLE_AFTER_DAYS = env_int("WEBHOOK_DISABLE_AFTER_DAYS", 3)
# How often a failing e-mail or webhook is tried before it is marked failed.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)

# Celery. Without CELERY_BROKER_URL the worker and beat use kombu's filesystem transport under var/,
# so the demo's periodic tasks run with no broker server installed.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
_CELERY_QUEUE_DIR = VAR_DIR / "celery" / "queue"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_CELERY_QUEUE_DIR),
        "data_folder_out": str(_CELERY_QUEUE_DIR),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # The exchange tables (kombu's default is ./control, in whatever folder the process started in).
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    # A task taken by a worker that then dies without a word (SIGKILL, power loss) goes back to the queue
    # after this many seconds; it must exceed the longest task (CELERY_TASK_TIME_LIMIT).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# Several installations may share one Redis: each names its own queue.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task that dies with its worker is run again rather than lost; tasks are written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing from a web request must not hang on a broker that is down: the outbox keeps the work.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# The schedule lives in code, so every deployment runs the same periodic work.
CELERY_BEAT_SCHEDULE = {
    "check-overdue-pickups": {"task": "leads.check_overdue_pickups", "schedule": 60.0},
    "deliver-outbox": {"task": "integrations.deliver_outbox", "schedule": 60.0},
    "return-recycled-leads": {"task": "leads.return_recycled", "schedule": 3600.0},
    "compact-tallies": {"task": "leads.compact_tallies", "schedule": 600.0},
    "purge-idempotency-keys": {"task": "integrations.purge_idempotency_keys", "schedule": 3600.0},
    # Daily; the builder catches up on every ended period that has no report yet.
    "build-reports": {"task": "reporting.build_due_reports", "schedule": crontab(hour=0, minute=30)},
    # Simulations whose message was lost, or whose worker died, start (again).
    "run-waiting-simulations": {"task": "reporting.run_waiting_simulations", "schedule": 60.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Production mode: everything `check --deploy` asks for. HTTPS=0 is for a plain-HTTP trial behind
# no proxy (docker compose on a laptop); it also turns the HTTPS-only settings off, so say it on purpose.
if not DEBUG:
    _HTTPS = env_bool("HTTPS", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _HTTPS
    SESSION_COOKIE_SECURE = _HTTPS
    CSRF_COOKIE_SECURE = _HTTPS
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if _HTTPS else 0
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
    SECURE_HSTS_PRELOAD = _HTTPS
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    # The health endpoint is probed over plain HTTP from inside the compose network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

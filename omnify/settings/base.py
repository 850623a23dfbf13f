"""Settings shared by every environment, read from the process environment (12-factor).

Environment variables:
  DJANGO_DEBUG            "1" turns on debug (default off; `local` turns it on).
  DJANGO_SECRET_KEY       required when debug is off.
  DJANGO_ALLOWED_HOSTS    comma-separated host names.
  DATABASE_URL            e.g. postgres://user:pass@host:5432/db; default: SQLite under var/.
  DATABASE_POOL_SIZE      PostgreSQL connections per process, at most (default 10).
  TEMPORAL_ADDRESS        host:port of the Temporal frontend (default 127.0.0.1:7233).
  TEMPORAL_NAMESPACE      default "default".
  TEMPORAL_TASK_QUEUE     default "omnify-console".
  TEMPORAL_UI_URL         link target for runs in the Temporal web UI.
  TEMPORAL_RPC_TIMEOUT    seconds a request waits for Temporal before answering 503 (default 4).
  TEMPORAL_RECONCILE_INTERVAL  seconds between the deployment's reconcile passes (default 60).
  OMNIFY_PAYLOAD_KEYS     `id=base64key,...` AES-256 keys encrypting what Temporal stores; the
                          first encrypts, all decrypt (default: one derived from the secret key).
  DJANGO_STATIC_ROOT      where collectstatic puts the static files (default staticfiles/).
  DATABASE_LOCK_TIMEOUT   seconds a statement waits for a lock (SQLite's write lock, a
                          PostgreSQL row or table lock) before giving up: 503 (default 10
                          on SQLite, 5 on PostgreSQL).
  OMNIFY_TRUSTED_PROXIES  proxies in front of the console that append to X-Forwarded-For
                          (default 0: the header is ignored; 1 behind an ingress).
  OMNIFY_TOKEN_THROTTLE   rate of POST /api/auth/token per client address (default 20/minute).
  OMNIFY_TOKEN_TTL_DAYS   lifetime of an API token (default 30).
  OMNIFY_LOGIN_FAILURE_LIMIT      failed logins per username and address before a lockout (5).
  OMNIFY_LOGIN_COOLOFF_MINUTES    how long a lockout lasts (default 15).
  OMNIFY_CONNECTORS_DIR   where each Airbyte source connector gets its own virtualenv
                          (default var/connectors/).
  OMNIFY_CONNECTOR_INSTALL        "1" (default) lets the worker install a connector on first
                          use; "0" refuses (a deployment that installs them at build).
  OMNIFY_WEBHOOK_DEBOUNCE_SECONDS how long a sync started by a webhook delivery waits for
                          more deliveries before it reads (default 10).
  OMNIFY_WEBHOOK_MAX_BYTES        the largest webhook body accepted (default 262144).
  OMNIFY_WEBHOOK_THROTTLE rate of webhook deliveries per client address (default 1200/minute).
"""

import os
from datetime import timedelta
from pathlib import Path

import csp.constants
import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("OMNIFY_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    "omnify.admin_site.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens with an expiry, stored hashed, several per user (accounts.ApiToken).
    "knox",
    # Login lockout (admin and token endpoint); before accounts, whose admin adapts axes'.
    "axes",
    "django_filters",
    "django_htmx",
    "corsheaders",
    "csp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "accounts",
    "orchestration",
]

MIDDLEWARE = [
    # First, so every request (rejected ones too) gets an id, a log line and a metric.
    "orchestration.middleware.RequestIdMiddleware",
    # NUL characters, too many query parameters, overlong admin searches: a 400 before any
    # query; every error under /api/ answered as JSON.
    "orchestration.input_limits.InputLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, Swagger UI's, htmx) served by the app under every server
    # (uvicorn for `make run`, gunicorn, the test server): no server serves them otherwise.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware: answers the Temporal UI's preflight for the codec endpoint.
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "orchestration.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: turns a login refused by a lockout into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "omnify.urls"
WSGI_APPLICATION = "omnify.wsgi.application"
ASGI_APPLICATION = "omnify.asgi.application"

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


# How long a statement waits for another's lock before the request answers 503
# database_unavailable: well under a client's patience (activities heartbeat meanwhile).
# SQLite has one write lock for the whole database and doesn't serve its waiters in order:
# with 32 concurrent starts and a busy worker on two cores the slowest start waited ~5 s,
# so it gets twice PostgreSQL's default.
_URL = os.environ.get("DATABASE_URL", "")
LOCK_TIMEOUT_SECONDS = float(
    os.environ.get("DATABASE_LOCK_TIMEOUT", "5" if _URL.startswith("postgres") else "10")
)


def database_from_env() -> dict:
    """The default database: DATABASE_URL, or an SQLite file under var/.

    SQLite serves a web process and a worker writing at once only with WAL, IMMEDIATE
    transactions (no lock upgrade deadlocks) and a busy timeout; without them it answers
    "database is locked" under load.
    """
    url = os.environ.get("DATABASE_URL")
    if url:
        config = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
        if config["ENGINE"] == "django.db.backends.postgresql":
            # Under ASGI every request runs in a thread of its own, so persistent connections
            # would be opened per request and pile up; a pool is shared by the threads. A
            # request that can't have a connection within `timeout` answers 503.
            # CONN_HEALTH_CHECKS stays on: the pool then checks each connection it hands out
            # (after the server restarted, its old ones are dead).
            config["CONN_MAX_AGE"] = 0
            options = config.setdefault("OPTIONS", {})
            options["pool"] = {
                "min_size": 1,
                "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "10")),
                "timeout": 5,
            }
            # Bounded waits, as SQLite's busy timeout: a lock not had in time is a 503.
            options["options"] = f"-c lock_timeout={int(LOCK_TIMEOUT_SECONDS * 1000)}"
    else:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "omnify.sqlite3"}
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": LOCK_TIMEOUT_SECONDS,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        # Connections are cheap to keep and costly to reopen on every request.
        config["CONN_MAX_AGE"] = None
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Organizations are the only objects with per-object permissions; anonymous users get none.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

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
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
# Without collectstatic (make run, the tests) WhiteNoise serves the apps' files where the
# finders find them; production serves the collected, hashed copies only.
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "admin:login"
# Where a login goes when its `next` is missing or unsafe (another host): the admin's home,
# not Django's default /accounts/profile/, which is a 404 here.
LOGIN_REDIRECT_URL = "admin:index"

# --- Client addresses, throttles, lockouts and tokens ----------------------------------------
# How many proxies in front of the console append the client's address to X-Forwarded-For
# (an ingress: 1). 0: the header is ignored. Throttles, the login lockout, the audit log and
# the logs all take the address from orchestration.context.client_address.
OMNIFY_TRUSTED_PROXIES = int(os.environ.get("OMNIFY_TRUSTED_PROXIES", "0"))

# The default cache is the database, which every process and pod shares: throttle counts kept
# in a process's memory would allow each gunicorn worker and pod its own rate. Its table is
# made by a migration (accounts 0004), so every `migrate` has it. What only one process needs
# and changes every second (the run page's answers from Temporal) lives in "local".
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "omnify_cache",
        "OPTIONS": {"MAX_ENTRIES": 10000},
    },
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local"},
}

# django-axes: after OMNIFY_LOGIN_FAILURE_LIMIT failed logins for one username from one
# address, that pair is refused (the right password too) for the cool-off time. Per pair, so
# nobody can lock a user out from elsewhere; the token endpoint's throttle bounds one address.
AXES_FAILURE_LIMIT = int(os.environ.get("OMNIFY_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("OMNIFY_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "orchestration.context.client_address"
AXES_LOCKOUT_CALLABLE = "orchestration.services.lockouts.lockout_response"
AXES_RESET_ON_SUCCESS = True
# Attempts while locked out don't push the end of the lockout further, so "try again in N
# minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Successful logins are in the access log and the audit log already; axes' own table of them
# would only grow.
AXES_DISABLE_ACCESS_LOG = True
# No banner on every manage.py command; lockouts are logged (omnify.security) and audited.
AXES_VERBOSE = False

# API tokens (django-rest-knox, accounts.ApiToken): hashed, named, expiring.
KNOX_TOKEN_MODEL = "accounts.ApiToken"
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=float(os.environ.get("OMNIFY_TOKEN_TTL_DAYS", "30"))),
    "AUTH_HEADER_PREFIX": "Token",
    # Recognizable in a leaked file or log (secret scanners), and not a DRF token.
    "TOKEN_PREFIX": "omnify_",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "orchestration.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "orchestration.api.pagination.StandardPagination",
    "EXCEPTION_HANDLER": "orchestration.api.errors.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # DRF's parsers bounded in size and JSON nesting (413 / 400, not a RecursionError 500).
    "DEFAULT_PARSER_CLASSES": [
        "orchestration.api.parsers.BoundedJSONParser",
        "orchestration.api.parsers.BoundedFormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "orchestration.api.schema.ConsoleAutoSchema",
    # The same count of trusted proxies as everything else (orchestration.context.client_address).
    "NUM_PROXIES": OMNIFY_TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "auth-token": os.environ.get("OMNIFY_TOKEN_THROTTLE", "20/minute"),
        "webhook": os.environ.get("OMNIFY_WEBHOOK_THROTTLE", "1200/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Omnify Console API",
    "DESCRIPTION": (
        "Start, watch, cancel, terminate and retry Temporal workflows per organization. "
        "Errors: 400 with field errors, 401, 403, 404 (also for other organizations' runs), "
        "409 for a conflict with the run's state, 503 with code temporal_unavailable."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "orchestration.api.schema.strip_optional_trailing_slashes",
    ],
    "ENUM_NAME_OVERRIDES": {
        "PlatformEnum": "orchestration.contract.vocabulary.Platform.choices",
        "StatusEnum": "orchestration.api.serializers.RUN_STATUSES",
        "ClientStatusEnum": "orchestration.api.platform.CLIENT_STATUSES",
    },
}

# --- Temporal -------------------------------------------------------------------------------
TEMPORAL_ADDRESS = os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233")
TEMPORAL_NAMESPACE = os.environ.get("TEMPORAL_NAMESPACE", "default")
TEMPORAL_TASK_QUEUE = os.environ.get("TEMPORAL_TASK_QUEUE", "omnify-console")
TEMPORAL_UI_URL = os.environ.get("TEMPORAL_UI_URL", "http://127.0.0.1:8233")
TEMPORAL_PAYLOAD_KEYS = os.environ.get("OMNIFY_PAYLOAD_KEYS", "")
# /metrics answers a scraper presenting this bearer token; unset, only this machine.
METRICS_TOKEN = os.environ.get("OMNIFY_METRICS_TOKEN", "")
# orchestration.platform.airbyte: one virtualenv per pinned source connector.
OMNIFY_CONNECTORS_DIR = Path(os.environ.get("OMNIFY_CONNECTORS_DIR", VAR_DIR / "connectors"))
OMNIFY_CONNECTOR_INSTALL = os.environ.get("OMNIFY_CONNECTOR_INSTALL", "1") != "0"
# orchestration.platform.webhooks: a burst of deliveries makes one sync.
OMNIFY_WEBHOOK_DEBOUNCE_SECONDS = int(os.environ.get("OMNIFY_WEBHOOK_DEBOUNCE_SECONDS", "10"))
OMNIFY_WEBHOOK_MAX_BYTES = int(os.environ.get("OMNIFY_WEBHOOK_MAX_BYTES", str(256 * 1024)))

# Content-Security-Policy on every page (django-csp): scripts only from the console itself
# (the admin's, htmx, console.js, Swagger UI loaded as files: the docs use the split view,
# no inline script); inline styles stay allowed, since the admin, htmx's indicator style
# and Swagger UI set them; no frames, plugins or foreign form targets.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.constants.SELF],
        "script-src": [csp.constants.SELF],
        "style-src": [csp.constants.SELF, csp.constants.UNSAFE_INLINE],
        "img-src": [csp.constants.SELF, "data:"],
        "font-src": [csp.constants.SELF, "data:"],
        "connect-src": [csp.constants.SELF],
        "object-src": [csp.constants.NONE],
        "base-uri": [csp.constants.SELF],
        "form-action": [csp.constants.SELF],
        "frame-ancestors": [csp.constants.NONE],
    }
}

# The Temporal UI (its own origin) asks the codec endpoint to decode payloads, with the
# console's session cookie when its "include cross-origin credentials" is on. Only that
# origin, only that path.
CORS_URLS_REGEX = r"^/api/temporal/codec/.*$"
CORS_ALLOWED_ORIGINS = [TEMPORAL_UI_URL.rstrip("/")]
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = ["content-type", "authorization", "x-namespace"]
CORS_ALLOW_METHODS = ["POST", "OPTIONS"]
TEMPORAL_RPC_TIMEOUT = float(os.environ.get("TEMPORAL_RPC_TIMEOUT", "4"))
# Seconds between reconcile passes: one Temporal Schedule per task queue, not one per worker.
TEMPORAL_RECONCILE_INTERVAL = float(os.environ.get("TEMPORAL_RECONCILE_INTERVAL", "60"))
# Per-workflow overrides of the policy in each type's definition
# (orchestration/workflows/<type>/definition.py), e.g.
# {"eyes-retrain": {"execution_timeout_seconds": 7200, "maximum_attempts": 3}}.
TEMPORAL_WORKFLOW_POLICIES: dict[str, dict] = {}

# LOG_FORMAT=json (production's default) writes one JSON object per line, with the request
# id, user, organization and workflow id where known; "plain" is for people at a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "orchestration.logging.RequestContextFilter"},
        "expected_refusals": {"()": "orchestration.logging.ExpectedRefusalFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "temporalio": {"level": "WARNING"},
        # The console logs each request itself (omnify.access), with its request id.
        "django.server": {"level": "WARNING"},
        "django.request": {"filters": ["expected_refusals"]},
    },
}

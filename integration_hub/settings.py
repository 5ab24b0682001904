"""Settings for Integration Hub, read from the environment (django-environ).

The embedded default (a laptop, the demo, `make test`) needs nothing set: SQLite in WAL mode
and a Celery broker on the filesystem, both in DATA_DIR, with a generated SECRET_KEY and
FIELD_ENCRYPTION_KEY kept there. Production sets DJANGO_SETTINGS_MODULE to
``integration_hub.settings_production`` and provides the variables listed in .env.example.
"""
from __future__ import annotations

from pathlib import Path

import environ

from integration_hub.kernel.config import (
    bool_from_env,
    database_from_env,
    generated_fernet_key,
    generated_secret_key,
    int_from_env,
    kept_secret,
    time_from_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))
PRODUCTION = False

DEBUG = bool_from_env("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="") or kept_secret(DATA_DIR / "secret_key", generated_secret_key)
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotate by prepending a new one).
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="") or kept_secret(
    DATA_DIR / "field_encryption_key", generated_fernet_key
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "integration_hub.admin_apps.HubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "axes",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "simple_history",
    "django_celery_beat",
    "django_celery_results",
    # The hub's apps, lowest layer first (docs/architecture.md).
    "integration_hub.kernel.apps.KernelConfig",
    "connectors.apps.ConnectorsConfig",
    "integration_hub.records.apps.RecordsConfig",
    "mapping.apps.MappingConfig",
    "integration_hub.sync.apps.SyncConfig",
    "reconciliation.conflicts.apps.ConflictsConfig",
    "reconciliation.duplicates.apps.DuplicatesConfig",
    "reconciliation.reports.apps.ReportsConfig",
    "reconciliation.health.apps.HealthConfig",
    "integration_hub.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "integration_hub.middleware.HostileInputMiddleware",
    "integration_hub.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "integration_hub.middleware.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",  # last: answers a locked-out sign-in
]

ROOT_URLCONF = "integration_hub.urls"
WSGI_APPLICATION = "integration_hub.wsgi.application"

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
                "integration_hub.context_processors.navigation",
                "reconciliation.health.context_processors.open_alerts",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {"default": database_from_env(env, default=f"sqlite:///{DATA_DIR / 'hub.sqlite3'}")}
if "sqlite" in DATABASES["default"]["ENGINE"]:
    # WAL lets the web process read while a worker writes; IMMEDIATE transactions plus a
    # busy timeout make concurrent writers wait their turn instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
         "transaction_mode": "IMMEDIATE", "timeout": 30}
    )
    DATABASES["default"]["TEST"] = {"NAME": None}  # in-memory for tests
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker + cache when set; filesystem broker + file cache when not ---
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}  # visibility_timeout: below, with the time limits it depends on
else:
    # A file cache is shared by the web, worker and beat processes on one machine.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(DATA_DIR / "cache")}}
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # else kombu writes it into the working directory
        "store_processed": False,
    }

# --- Celery (read by integration_hub/celery.py with the CELERY namespace) --------------
# django-celery-results (results visible in the admin), riding out a database restart
# (integration_hub/kernel/task_results.py): storing a task's state is retried with backoff (at most about two
# minutes), then given up without killing the worker.
CELERY_RESULT_BACKEND = "integration_hub.kernel.task_results:ResilientDatabaseBackend"
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = 15
CELERY_RESULT_BACKEND_BASE_SLEEP_BETWEEN_RETRIES_MS = 200
CELERY_RESULT_EXTENDED = True  # keep task name and args with the result
CELERY_ACCEPT_CONTENT = ["json"]  # JSON only: no pickle from the broker
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged after it ran, so a dead worker's task is redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # ... including when the worker process is killed mid-task
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # with acks_late, do not hoard tasks a dead worker would delay
# The soft limit raises inside the task so it can clean up; the hard limit then kills it.
CELERY_TASK_SOFT_TIME_LIMIT = int_from_env("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = int_from_env("CELERY_TASK_TIME_LIMIT", default=30 * 60)
# Lost workers and connections. Redis hands a task a worker took (acks late) to another worker once
# visibility_timeout passed, whether or not the first one still runs it: so it is longer than the hard time
# limit, and a live task is never run twice at once. A dead worker's sync does not wait for it: a running sync
# stamps a heartbeat (each page, and every third of SYNC_STALE_RUN_SECONDS while it waits on a vendor), and the
# stale-run sweep (beat, every minute) resumes a queued or running run whose heartbeat is older than
# SYNC_STALE_RUN_SECONDS, in a new task, at most SYNC_STALE_RUN_MAX_RESUMES times. Other tasks are idempotent
# and have no run to resume: a dead worker's is redelivered after visibility_timeout, or the next beat runs it.
# A task that hits a lost database or broker connection is retried (integration_hub/kernel/task_policy.py).
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = int_from_env(
        "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 5 * 60)
SYNC_STALE_RUN_SECONDS = int_from_env("SYNC_STALE_RUN_SECONDS", default=180, minimum=3)
SYNC_STALE_RUN_MAX_RESUMES = int_from_env("SYNC_STALE_RUN_MAX_RESUMES", default=5, minimum=0)
CELERY_TASK_ALWAYS_EAGER = bool_from_env("CELERY_TASK_ALWAYS_EAGER", default=False)
# The queue tasks go to unless routed elsewhere (the reliability tests give each worker its own).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"  # schedules edited in the admin
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Sync ---------------------------------------------------------------------------------------
# How the sync engine and the outbox talk to vendors: per-request timeout (s), retry backoff base (s)
# and attempts per request before a transient error is given up for this run.
SYNC_CONNECTOR_OPTIONS = {
    "timeout": int_from_env("SYNC_HTTP_TIMEOUT", default=30),
    "backoff_base": 0.5,
    "max_attempts": int_from_env("SYNC_HTTP_ATTEMPTS", default=6),
}

# Hosts the hub may send a vendor's credentials to beside the vendor's own API hosts (connectors/hosts.py):
# the sandbox emulators on this machine by default; a self-hosted ERP or a proxy in production.
CONNECTOR_ALLOWED_HOSTS = env.list("CONNECTOR_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "::1"])

# --- Duplicates ------------------------------------------------------------------------------
# How long a merge can be undone, and per-entity tuning of the duplicate score (see
# reconciliation/duplicates/scoring.py: "bias", "lower", "upper", "features": {name: {"agree", "disagree"}}).
DUPLICATES = {
    "undo_window_hours": int_from_env("DUPLICATES_UNDO_WINDOW_HOURS", default=72),
    "profiles": {},
}
# --- Outbox ---------------------------------------------------------------------------------------
# Writes a dead dispatcher had taken ("sending") are sent again after this many seconds.
OUTBOX_STALE_SENDING_SECONDS = int_from_env("OUTBOX_STALE_SENDING_SECONDS", default=15 * 60, minimum=1)

# --- Conflict queue -------------------------------------------------------------------------------
# Conflicts open longer than this many hours are highlighted in the queue and named in the digest.
CONFLICT_SLA_HOURS = int_from_env("CONFLICT_SLA_HOURS", default=48, minimum=1)
# When the daily digest of open finance conflicts is mailed to Finance approvers (UTC, HH:MM).
CONFLICT_DIGEST_AT = time_from_env("CONFLICT_DIGEST_AT", default="07:00")
# The hub's own address, for links in emails.
HUB_URL = env.str("HUB_URL", default="http://127.0.0.1:8000").rstrip("/")
# The sender of the hub's emails (the digest).
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="integration-hub@localhost")

# --- Auth, roles ------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "integration_hub.kernel.throttling.ThrottledTokenAuthentication",
    ],
    # JSON through the one guard (size, depth, NUL characters); forms for the browsable API.
    "DEFAULT_PARSER_CLASSES": ["integration_hub.kernel.json_guard.GuardedJSONParser",
                               "integration_hub.kernel.json_guard.GuardedFormParser",
                               "integration_hub.kernel.json_guard.GuardedMultiPartParser"],
    "DEFAULT_PERMISSION_CLASSES": ["integration_hub.kernel.permissions.RoleModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend",
                                "rest_framework.filters.OrderingFilter"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Integration Hub API",
    "DESCRIPTION": "Governed CRM ↔ ERP sync: systems, golden records, history.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI served from our own static files: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets used by several fields get one name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "CreatePolicyEnum": "mapping.models.CreatePolicy",
        "EntityTypeEnum": "integration_hub.records.models.EntityType",
        "SystemRoleEnum": "connectors.models.SystemRole",
        "DuplicateStatusEnum": "reconciliation.duplicates.models.CandidateStatus",
        "DuplicateKindEnum": "reconciliation.duplicates.models.CandidateKind",
        "MergeStatusEnum": "reconciliation.duplicates.models.MergeStatus",
        "MergeEffectKindEnum": "reconciliation.duplicates.models.EffectKind",
        "ConflictStatusEnum": "reconciliation.conflicts.models.ConflictStatus",
        "DecisionEnum": "reconciliation.conflicts.models.Choice",
        "SyncRunStatusEnum": "integration_hub.sync.models.SyncStatus",
        "SyncTriggerEnum": "integration_hub.sync.models.SyncTrigger",
        "OutboundStatusEnum": "integration_hub.sync.models.OutboundStatus",
    },
}

# --- Audit -----------------------------------------------------------------------------------
SIMPLE_HISTORY_REVERT_DISABLED = True  # history is append-only: no "revert" from the admin
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# --- Tables -----------------------------------------------------------------------------------
DJANGO_TABLES2_TEMPLATE = "hub/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "hub-table"}

# --- I18N, static -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve straight from the apps when collectstatic has not run

# --- Security defaults that hold in every mode ----------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Hostile input: bodies over this many bytes are refused before parsing (API JSON, webhooks, forms), and
# JSON nested deeper than JSON_MAX_DEPTH levels (integration_hub/kernel/json_guard.py).
API_MAX_BODY_BYTES = int_from_env("API_MAX_BODY_BYTES", default=1024 * 1024, minimum=1024)
JSON_MAX_DEPTH = int_from_env("JSON_MAX_DEPTH", default=32, minimum=2)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# Failed sign-ins (django-axes): 5 failures for one username from one address lock that pair out for 15
# minutes; a success clears the count. Failed API tokens: API_AUTH_FAILURE_LIMIT per address per window,
# then 429 with Retry-After. Addresses come from REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies from
# X-Forwarded-For (integration_hub/kernel/throttling.py).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_FAILURE_LIMIT = int_from_env("LOGIN_FAILURE_LIMIT", default=5, minimum=1)
LOGIN_LOCKOUT_MINUTES = int_from_env("LOGIN_LOCKOUT_MINUTES", default=15, minimum=1)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = LOGIN_LOCKOUT_MINUTES / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "integration_hub.kernel.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "integration_hub.kernel.throttling.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
TRUSTED_PROXY_COUNT = int_from_env("TRUSTED_PROXY_COUNT", default=0, minimum=0)
API_AUTH_FAILURE_LIMIT = int_from_env("API_AUTH_FAILURE_LIMIT", default=10, minimum=1)
API_AUTH_FAILURE_WINDOW_SECONDS = int_from_env("API_AUTH_FAILURE_WINDOW_SECONDS", default=15 * 60, minimum=1)
# Content-Security-Policy on every page (django-csp): scripts and styles from the hub's own static files
# only, no inline scripts (pages read their data from data- attributes); style attributes stay allowed
# (the admin, history and browsable-API templates use them; they cannot run code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`; unset = signed-in users only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="integration-hub@localhost")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes announces itself at every start at INFO; its lockouts are WARNINGs and still shown.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

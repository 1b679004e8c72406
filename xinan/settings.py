"""Settings for xinan, all from environment variables (see docs/configuration.md).

Zero configuration gives a working install on SQLite under var/; production sets DATABASE_URL,
XINAN_SECRET_KEY, XINAN_FIELD_KEYS, XINAN_HASH_KEY and XINAN_ALLOWED_HOSTS.
"""

import json
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from xinan.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("XINAN_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_secret("XINAN_SECRET_KEY", VAR_DIR)
DEBUG = env_bool("XINAN_DEBUG", False)
ALLOWED_HOSTS = env_list("XINAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("XINAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "xinan.core",
    "xinan.accounts",
    "xinan.people",
    "xinan.instruments",
    "xinan.screening",
    "xinan.crisis",
    "xinan.cases",
    "xinan.smd",
    "xinan.network",
    "xinan.booking",
    "xinan.api",
    "ninja",  # serves the API docs' Swagger UI from our own static files, not a CDN
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "xinan.core.middleware.chinese_first",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "xinan.core.middleware.request_context",
    "xinan.accounts.middleware.enforce_two_factor",
]
# Calls to /api/ with a bearer token go through this shorter stack (xinan/api/handler.py).
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "xinan.core.middleware.chinese_first",
    "xinan.api.handler.token_request",  # also picks the language (no URL language prefixes)
    "xinan.core.middleware.request_context",
]

ROOT_URLCONF = "xinan.urls"
WSGI_APPLICATION = "xinan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "xinan" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "xinan.core.context_processors.platform",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'xinan.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent per-thread connections: opening SQLite and running the PRAGMAs per request
    # cost more than the request itself.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    # Django's SQLite backend plus an in-process queue for writers (see its docstring).
    DATABASES["default"]["ENGINE"] = "xinan.core.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE avoids lock upgrades mid-write.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Behind PgBouncer in transaction pooling (docs/deployment.md): no server-side cursors,
    # which would outlive the transaction PgBouncer lends a connection for.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("XINAN_DB_POOLED", False)
# A served SQLite database checkpoints its WAL in a background thread every
# XINAN_SQLITE_CHECKPOINT_MS (0: inside commits, SQLite's default); see xinan/core/sqlite/base.py.
SQLITE_CHECKPOINT_SECONDS = env_int("XINAN_SQLITE_CHECKPOINT_MS", 1000) / 1000

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["xinan.accounts.backends.PhoneOrUsernameBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("XINAN_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "xinan.accounts.validators.LettersAndDigitsValidator"},
]

# Login security
LOGIN_MAX_FAILURES = env_int("XINAN_LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("XINAN_LOGIN_LOCKOUT_MINUTES", 15)
REQUIRE_STAFF_2FA = env_bool("XINAN_REQUIRE_STAFF_2FA", False)
SESSION_COOKIE_AGE = env_int("XINAN_SESSION_SECONDS", 8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Served over HTTPS (XINAN_HTTPS=true, docs/configuration.md "HTTPS"): secure cookies, HSTS and
# a redirect of plain http. `xinan check --deploy` is clean with it (xinan/core/tests).
HTTPS = env_bool("XINAN_HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("XINAN_SECURE_COOKIES", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("XINAN_HSTS_SECONDS", 31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("XINAN_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("XINAN_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("XINAN_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the proxy's health probe may ask over plain http
# Behind a reverse proxy: the client's address from X-Forwarded-For (the right-most hop that is
# not one of XINAN_TRUSTED_PROXIES, and only when the request came from one of them), and the
# scheme from X-Forwarded-Proto (xinan/core/middleware.py).
TRUST_X_FORWARDED_FOR = env_bool("XINAN_TRUST_X_FORWARDED_FOR", False)
TRUSTED_PROXIES = env_list("XINAN_TRUSTED_PROXIES", ["127.0.0.1", "::1"])
if env_bool("XINAN_TRUST_X_FORWARDED_PROTO", TRUST_X_FORWARDED_FOR):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Preloading puts the domain in the browsers' built-in HTTPS lists, hard to undo: a deployment
# opts in with XINAN_HSTS_PRELOAD; until then the deploy check's reminder is silenced.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
BREAK_GLASS_HOURS = env_int("XINAN_BREAK_GLASS_HOURS", 4)
# How long a process trusts a resolved API token (and its user's memberships) before asking
# the database again: a revoked token or a changed membership takes effect within this time.
API_TOKEN_CACHE_SECONDS = env_int("XINAN_API_TOKEN_CACHE_SECONDS", 30)
# Cases (docs/cases.md): missed follow-ups that flag a case lost to follow-up, and how long a
# process keeps its copy of the task rules (an admin edit reaches the other processes within).
CASES_LOST_AFTER_MISSED = env_int("XINAN_CASES_LOST_AFTER_MISSED", 2)
CASES_RULES_CACHE_SECONDS = env_int("XINAN_CASES_RULES_CACHE_SECONDS", 60)

# Sensitive fields: Fernet keys (comma-separated, newest first, for rotation) and an HMAC key
# for exact-match lookups of ID numbers and phones.
FIELD_ENCRYPTION_KEYS = env_list("XINAN_FIELD_KEYS", []) or [env_secret("XINAN_FIELD_KEY", VAR_DIR)]
LOOKUP_HASH_KEY = env_secret("XINAN_HASH_KEY", VAR_DIR)

# Aggregates hide cells with fewer people than this.
SMALL_CELL_THRESHOLD = env_int("XINAN_SMALL_CELL_THRESHOLD", 5)
# Screening instruments: licensed item text, and per-deployment cutoffs as JSON, e.g.
# XINAN_INSTRUMENT_CUTOFFS='{"PHQ-9": {"min": 8}}' (see docs/instruments.md).
INSTRUMENT_TEXT_DIR = env_str("XINAN_INSTRUMENT_TEXT_DIR", "") or None
INSTRUMENT_CUTOFF_OVERRIDES = json.loads(env_str("XINAN_INSTRUMENT_CUTOFFS", "") or "{}")
PLATFORM_NAME = env_str("XINAN_PLATFORM_NAME", "心安")
NATIONAL_HOTLINE = env_str("XINAN_NATIONAL_HOTLINE", "12356")
# Where residents book a counsellor when their area sets no booking link of its own.
BOOKING_URL = env_str("XINAN_BOOKING_URL", "")
# Share of neighbourhoods (村居) that should have a counselling room, in percent (network
# coverage figure); 100 = every village with a room.
SITE_COVERAGE_TARGET = env_int("XINAN_SITE_COVERAGE_TARGET", 100) / 100

# Uploaded tables (screening imports, the area tree): refused above this size, before reading.
MAX_UPLOAD_MB = env_int("XINAN_MAX_UPLOAD_MB", 20)
# Uploaded import files and rejected-rows files are deleted this many days after upload.
IMPORT_RETENTION_DAYS = env_int("XINAN_IMPORT_RETENTION_DAYS", 30)
# Crisis alerts: minutes to acknowledge per level before escalation, the consumer's poll interval.
CRISIS_ACK_MINUTES = {
    "red": env_int("XINAN_CRISIS_ACK_RED", 5),
    "orange": env_int("XINAN_CRISIS_ACK_ORANGE", 30),
    "yellow": env_int("XINAN_CRISIS_ACK_YELLOW", 24 * 60),
}
CRISIS_POLL_SECONDS = float(env_str("XINAN_CRISIS_POLL_SECONDS", "0.1"))

# The worker (xinan/core/worker.py): leases a dead worker's items are taken over after (the
# critical lane's shorter, so a dead worker's crisis alerts wait less), the heartbeat that
# renews them (well within the shorter lease), how often idle lanes poll beside the bus.
WORKER_LEASE_SECONDS = float(env_str("XINAN_WORKER_LEASE_SECONDS", "5"))
WORKER_CRITICAL_LEASE_SECONDS = float(env_str("XINAN_WORKER_CRITICAL_LEASE_SECONDS", "1.5"))
WORKER_HEARTBEAT_SECONDS = float(env_str("XINAN_WORKER_HEARTBEAT_SECONDS", "0.5"))
WORKER_POLL_SECONDS = float(env_str("XINAN_WORKER_POLL_SECONDS", "0.5"))
# Durable jobs through django.tasks, stored in the database and run by the worker's jobs lane.
TASKS = {"default": {"BACKEND": "xinan.core.jobs.DatabaseBackend"}}

# Crisis bus ----------------------------------------------------------------------------------
# How a committed outbox event wakes its consumers at once, across processes (xinan/core/bus.py,
# docs/crisis.md): "local" (in-process only), "postgres" (LISTEN/NOTIFY) or "redis" (PUBLISH).
# Empty: postgres when the database is PostgreSQL, else local. Consumers still poll
# (CRISIS_POLL_SECONDS), so a lost notification delays an alert but never loses it.
BUS_BACKEND = env_str("XINAN_BUS", "") or (
    "postgres" if "postgresql" in DATABASES["default"]["ENGINE"] else "local"
)
BUS_REDIS_URL = env_str("XINAN_REDIS_URL", "redis://127.0.0.1:6379/0")
BUS_CHANNEL = env_str("XINAN_BUS_CHANNEL", "xinan")
# end of Crisis bus ---------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
HONOUR_BROWSER_LANGUAGE = env_bool("XINAN_BROWSER_LANGUAGE", False)
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "xinan" / "locale"]
TIME_ZONE = env_str("XINAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root even with finders
STATICFILES_DIRS = [BASE_DIR / "xinan" / "static"]
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("XINAN_LOG_LEVEL", "WARNING")},
}

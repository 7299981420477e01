"""Settings for the tracker, read from the environment (see .env.example).

Development works with nothing set. With DJANGO_DEBUG=0 the process refuses to
start unless DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS are given.
"""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tracker.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", True)

# Where the SQLite file and the evidence files live. Never inside a static or
# media URL: originals are served only through permission-checked views.
DATA_DIR = Path(env_str("TRACKER_DATA_DIR", str(BASE_DIR / "var"))).resolve()
# Private upload temp dir; created here so that the first upload cannot fail on it.
(DATA_DIR / "tmp").mkdir(mode=0o750, parents=True, exist_ok=True)

if DEBUG:
    SECRET_KEY = env_str(
        "DJANGO_SECRET_KEY", "django-insecure-development-only-never-in-production"
    )
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
else:
    SECRET_KEY = env_str("DJANGO_SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set to at least 50 random characters when DJANGO_DEBUG=0."
        )
    ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must name the tracker's host(s) when DJANGO_DEBUG=0."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "simple_history",
    "tracker",
    "evidence",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tracker.sessions.IdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "tracker.urls"

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

WSGI_APPLICATION = "tracker.wsgi.application"

# SQLite by default (one file under TRACKER_DATA_DIR); PostgreSQL through DATABASE_URL.
_SQLITE_OPTIONS = {
    # WAL lets readers run beside one writer; IMMEDIATE takes the write lock at
    # BEGIN so two read-then-write transactions queue (busy timeout) instead of
    # failing with "database is locked" when the reader tries to upgrade.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA foreign_keys=ON;"
        "PRAGMA busy_timeout=20000;"
    ),
}
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'tracker.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL cannot be used: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {**_SQLITE_OPTIONS, **_db.get("OPTIONS", {})}
    # A file, not Django's shared in-memory default, so that tests of concurrent
    # writers exercise the same locking as production.
    _db["TEST"] = {"NAME": str(DATA_DIR / "test-tracker.sqlite3")}
DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
USE_I18N = True
USE_TZ = True  # stored in UTC
TIME_ZONE = env_str("TRACKER_TIME_ZONE", "Asia/Damascus")  # shown in the case's local time
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TRACKER_TIME_ZONE must be an IANA zone such as Asia/Damascus; got {TIME_ZONE!r}."
    ) from None

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

LOGIN_URL = "admin:login"

# Upload limits; files above the memory limit are streamed to a private temp dir.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TRACKER_MAX_REQUEST_MEMORY", 10 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "tmp")
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
TRACKER_MAX_UPLOAD_BYTES = env_int("TRACKER_MAX_UPLOAD_BYTES", 4 * 1024**3, minimum=1)

# Behind nginx: originals are handed to nginx with "X-Accel-Redirect: <prefix>/<key>"
# instead of being streamed by Django. The prefix names an `internal` location
# aliased to TRACKER_DATA_DIR (see README.md). Empty: Django streams the file.
_x_accel = env_str("TRACKER_X_ACCEL_REDIRECT_PREFIX", "")
TRACKER_X_ACCEL_REDIRECT_PREFIX = _x_accel.rstrip("/")
if _x_accel and (
    not TRACKER_X_ACCEL_REDIRECT_PREFIX.startswith("/")
    or any(ch.isspace() or not ch.isprintable() for ch in _x_accel)
):
    raise ImproperlyConfigured(
        "TRACKER_X_ACCEL_REDIRECT_PREFIX must be a URL path starting with '/', "
        f"such as /protected; got {_x_accel!r}."
    )

# Review notifications. Development prints mail to the console.
EMAIL_BACKEND = env_str(
    "DJANGO_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "tracker@localhost")
# Used to build links in e-mails.
TRACKER_BASE_URL = env_str("TRACKER_BASE_URL", "http://127.0.0.1:8000")

# Named as the Source-Organization of exported BagIt bags.
TRACKER_ORGANIZATION = env_str("TRACKER_ORGANIZATION", "Accountability tracker")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A session ends after this long without a request (tracker.sessions restarts the
# clock at most every five minutes), and when the browser closes.
SESSION_COOKIE_AGE = env_int("TRACKER_SESSION_IDLE_SECONDS", 8 * 3600, minimum=600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# HTTPS in production (`manage.py check --deploy` reports nothing with these).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
# Trust the proxy's "this came over HTTPS" header only when one is configured, e.g.
# DJANGO_SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
_proxy_header = env_list("DJANGO_SECURE_PROXY_SSL_HEADER", [])
if _proxy_header:
    if len(_proxy_header) != 2 or not _proxy_header[0].startswith("HTTP_"):
        raise ImproperlyConfigured(
            "DJANGO_SECURE_PROXY_SSL_HEADER must be HEADER,value such as "
            "HTTP_X_FORWARDED_PROTO,https."
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_header)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("TRACKER_LOG_LEVEL", "INFO")},
}

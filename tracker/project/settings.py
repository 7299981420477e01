"""Settings for the tracker, read from the environment (see .env.example).

Development works with nothing set. With DJANGO_DEBUG=0 the process refuses to
start unless DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS are given.
"""

import importlib.util
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from tracker.project.env import env_bool, env_cache, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tracker",
    "evidence",
]

MIDDLEWARE = [
    # Outermost, so that every response gets the policy, even a refusal raised by
    # another middleware (a foreign Host header).
    "csp.middleware.CSPMiddleware",
    # Next, so that a NUL byte, an over-long value or a broken pattern is refused with
    # the readable 400 (with the policy) before sessions or views read it.
    "tracker.accounts.hostile_input.HostileInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tracker.accounts.sessions.IdleTimeoutMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "tracker.accounts.otp.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as its documentation asks: turns a lockout into the login page's message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tracker.project.urls"

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

WSGI_APPLICATION = "tracker.project.wsgi.application"

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
# Leaflet's JavaScript and CSS come from the django-leaflet package; only its static
# files are used (as an app it would import GeoDjango, which needs GDAL).
STATICFILES_DIRS = [
    Path(importlib.util.find_spec("leaflet").submodule_search_locations[0]) / "static"
]
# `collectstatic` writes here; nginx serves it (deploy/nginx/tracker.conf). Outside the
# data dir in a deployment, so the service never needs to write it.
STATIC_ROOT = Path(env_str("TRACKER_STATIC_ROOT", str(DATA_DIR / "static"))).resolve()

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
# aliased to TRACKER_DATA_DIR (see docs/deploying.md). Empty: Django streams the file.
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

# --- Background work (docs/architecture.md, "Background work") ---
# Django's Tasks carry "run job N"; tracker.jobs keeps the state. database: a queue in
# the tracker's database (`manage.py worker`); rq: RQ on Redis (REDIS_URL), for workers
# on several machines; immediate: run where asked (tests and one-off commands only).
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TRACKER_TASKS_BACKEND = env_str("TRACKER_TASKS_BACKEND", "database")
if TRACKER_TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(
        f"TRACKER_TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}; "
        f"got {TRACKER_TASKS_BACKEND!r}."
    )
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TRACKER_TASKS_BACKEND]}}
# A Redis that answers slowly or not at all costs a request at most these seconds: the
# job stays queued in the database and the clock hands it over when Redis is back.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# The cache (the API's rate counts): TRACKER_CACHE_URL, each process's memory by default.
CACHES = {"default": env_cache("TRACKER_CACHE_URL")}
TRACKER_REDIS_TIMEOUT = env_int("TRACKER_REDIS_TIMEOUT", 5, minimum=1)
_redis_query = (
    f"socket_timeout={TRACKER_REDIS_TIMEOUT}&socket_connect_timeout={TRACKER_REDIS_TIMEOUT}"
)
RQ_SHOW_ADMIN_LINK = False  # the jobs page shows the work; RQ's dashboard is not a door
RQ_QUEUES = {
    "default": {
        "URL": REDIS_URL + ("&" if "?" in REDIS_URL else "?") + _redis_query,
        # The longest a job may run before RQ stops it (a court bundle of a large case).
        "DEFAULT_TIMEOUT": env_int("TRACKER_JOB_TIMEOUT", 6 * 3600, minimum=60),
    }
}
# Workers that `make serve` starts (each runs one job at a time).
TRACKER_WORKERS = env_int("TRACKER_WORKERS", 2, minimum=1)
# A job that raises is tried this many times in all, waiting longer each time.
TRACKER_JOB_ATTEMPTS = env_int("TRACKER_JOB_ATTEMPTS", 3, minimum=1)
# A running job's lease, renewed as it makes progress; when it lapses (the worker was
# killed), the clock queues the job again.
TRACKER_JOB_LEASE_SECONDS = env_int("TRACKER_JOB_LEASE_SECONDS", 600, minimum=1)
# How often each worker's clock looks for due, stalled and periodic work.
TRACKER_CLOCK_SECONDS = env_int("TRACKER_CLOCK_SECONDS", 15, minimum=1)
# A flight-log upload larger than this is imported in the background (a job).
TRACKER_FLIGHTLOG_BACKGROUND_BYTES = env_int(
    "TRACKER_FLIGHTLOG_BACKGROUND_BYTES", 2 * 1024 * 1024, minimum=0
)
# A court bundle made for download is deleted this many hours after it is ready.
TRACKER_EXPORT_KEEP_HOURS = env_int("TRACKER_EXPORT_KEEP_HOURS", 72, minimum=1)
# Scheduled fixity: a pass starts this often; a run re-hashes for at most this long.
TRACKER_FIXITY_EVERY_HOURS = env_int("TRACKER_FIXITY_EVERY_HOURS", 24, minimum=1)
TRACKER_FIXITY_BUDGET_SECONDS = env_int("TRACKER_FIXITY_BUDGET_SECONDS", 1800, minimum=1)
# Custody anchors (docs/security.md, "Trusted time"): period, TSAs, their roots, timeout.
TRACKER_ANCHOR_EVERY_HOURS = env_int("TRACKER_ANCHOR_EVERY_HOURS", 1, minimum=1)
TRACKER_TSA_URLS = env_list("TRACKER_TSA_URLS", [])
TRACKER_TSA_CA_FILE = env_str("TRACKER_TSA_CA_FILE")
TRACKER_TSA_TIMEOUT = env_int("TRACKER_TSA_TIMEOUT", 10, minimum=1)
# Video and audio are decoded only in a child process with these limits (address
# space, CPU time, wall time); a file that reaches one is kept and flagged.
TRACKER_MEDIA_MEMORY_MB = env_int("TRACKER_MEDIA_MEMORY_MB", 2048, minimum=256)
TRACKER_MEDIA_CPU_SECONDS = env_int("TRACKER_MEDIA_CPU_SECONDS", 1800, minimum=1)
TRACKER_MEDIA_WALL_SECONDS = env_int("TRACKER_MEDIA_WALL_SECONDS", 3600, minimum=1)
# Capture by link (evidence.capture): loopback and private addresses may be fetched only
# for the tests' own local server, and never outside DJANGO_DEBUG=1.
TRACKER_CAPTURE_ALLOW_PRIVATE = env_bool("TRACKER_CAPTURE_ALLOW_PRIVATE", False)
if TRACKER_CAPTURE_ALLOW_PRIVATE and not DEBUG:
    raise ImproperlyConfigured(
        "TRACKER_CAPTURE_ALLOW_PRIVATE=1 lets captures reach private networks: it is for "
        "tests only and refused when DJANGO_DEBUG=0."
    )
# A proxy every capture connects through, for a team that must not show the server's
# address: socks5h://127.0.0.1:9050 (Tor: the proxy resolves names, .onion ones too),
# socks5://host:port (the tracker resolves and checks names, the proxy gets the address)
# or http://host:port (HTTP CONNECT); user:password@ before the host is the proxy's
# login. Empty: captures connect directly. evidence.capture.fetching says what each
# checks.
TRACKER_CAPTURE_PROXY = env_str("TRACKER_CAPTURE_PROXY", "")
if TRACKER_CAPTURE_PROXY:
    try:
        _capture_proxy = urlsplit(TRACKER_CAPTURE_PROXY)
        _capture_proxy_port = _capture_proxy.port
    except ValueError:  # a port that is not a number from 0 to 65535, a bad [IPv6]
        _capture_proxy, _capture_proxy_port = urlsplit(""), None
    if (
        _capture_proxy.scheme not in ("socks5h", "socks5", "http")
        or not _capture_proxy.hostname
        or not _capture_proxy_port
        or _capture_proxy.path not in ("", "/")
        or _capture_proxy.query
        or _capture_proxy.fragment
    ):
        _login, _at, _place = TRACKER_CAPTURE_PROXY.rpartition("@")  # the password unshown
        _scheme = _login.partition("://")[0] + "://" if "://" in _login else ""
        _shown = f"{_scheme}…@{_place}" if _at else TRACKER_CAPTURE_PROXY
        raise ImproperlyConfigured(
            "TRACKER_CAPTURE_PROXY must be socks5h://host:port (Tor: socks5h://127.0.0.1:9050), "
            f"socks5://host:port or http://host:port, with the port; got {_shown!r}."
        )
    if any(
        len(unquote(part or "").encode()) > 255
        for part in (_capture_proxy.username, _capture_proxy.password)
    ):
        raise ImproperlyConfigured(
            "TRACKER_CAPTURE_PROXY's user name and password must each be at most 255 bytes."
        )
# A capture's limits: bytes and requests in all, and seconds from start to end; the
# browser that renders the page (Debian's chromium; empty or missing: the capture keeps
# the plain HTTP exchange and says what it could not make).
TRACKER_CAPTURE_MAX_MB = env_int("TRACKER_CAPTURE_MAX_MB", 1024, minimum=1)
TRACKER_CAPTURE_MAX_REQUESTS = env_int("TRACKER_CAPTURE_MAX_REQUESTS", 1000, minimum=1)
TRACKER_CAPTURE_SECONDS = env_int("TRACKER_CAPTURE_SECONDS", 180, minimum=10)
TRACKER_CHROMIUM = env_str("TRACKER_CHROMIUM", "/usr/bin/chromium")
# How many keyframes a video's page shows, and the playable copy's largest height.
TRACKER_KEYFRAMES = env_int("TRACKER_KEYFRAMES", 12, minimum=1)
TRACKER_PLAYABLE_HEIGHT = env_int("TRACKER_PLAYABLE_HEIGHT", 720, minimum=144)

# Named as the Source-Organization of exported BagIt bags.
TRACKER_ORGANIZATION = env_str("TRACKER_ORGANIZATION", "Accountability tracker")

# Background map tiles for the workspace maps ({z}/{x}/{y} template). Empty: no tiles
# (maps still draw the incidents on a blank background, e.g. offline in the field).
# Set but empty means "no tiles", so this one is read without env_str's empty = default.
TRACKER_MAP_TILE_URL = os.environ.get(
    "TRACKER_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
).strip()
TRACKER_MAP_ATTRIBUTION = env_str("TRACKER_MAP_ATTRIBUTION", "© OpenStreetMap contributors")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# A session ends after this long without a request (tracker.accounts.sessions restarts the
# clock at most every five minutes), and when the browser closes.
SESSION_COOKIE_AGE = env_int("TRACKER_SESSION_IDLE_SECONDS", 8 * 3600, minimum=600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# HTTPS in production (`manage.py check --deploy` reports nothing with these).
# DJANGO_SECURE_COOKIES=0 exists for `make serve`: a production-like run over plain
# HTTP on loopback, where a browser would not send secure cookies back. It is refused
# for any other host, and `check --deploy` warns about it.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
if not DEBUG and not SESSION_COOKIE_SECURE and not set(ALLOWED_HOSTS) <= _LOOPBACK_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_SECURE_COOKIES=0 is only for a run on loopback: DJANGO_ALLOWED_HOSTS must "
        "then name only 127.0.0.1, localhost or [::1]."
    )
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

# --- Security: CSP, login protection, second factor (docs/architecture.md, "Security") ---

# Content-Security-Policy (django-csp 4). Scripts and styles come only from our own
# static files: no inline <script>, no onclick=, no style="" anywhere (positions that
# depend on data are set from data-* attributes by tracker/js/position.js). The Django
# admin needs no 'unsafe-inline' either: its templates pass data to its scripts as
# JSON (<script type="application/json">, never executed) and its scripts set styles
# through the DOM, which CSP allows. Responses that set their own policy keep it
# (the evidence file views' "default-src 'none'; sandbox"): the middleware only adds
# the header when it is missing.
_tiles = urlsplit(TRACKER_MAP_TILE_URL)
if TRACKER_MAP_TILE_URL and (
    _tiles.scheme not in ("https", "http")
    or not _tiles.netloc
    or "@" in _tiles.netloc
    or "{" in _tiles.netloc.removeprefix("{s}.")
):
    raise ImproperlyConfigured(
        "TRACKER_MAP_TILE_URL must be an http(s) URL template such as "
        f"https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png; got {TRACKER_MAP_TILE_URL!r}."
    )
# Leaflet's {s} subdomain placeholder becomes CSP's leftmost-label wildcard.
_tile_origin = (
    [f"{_tiles.scheme}://{_tiles.netloc}".replace("{s}", "*")] if TRACKER_MAP_TILE_URL else []
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_tile_origin],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- The API (tracker/api/, docs/api.md): Django REST framework, OpenAPI by
# drf-spectacular, Swagger UI's files from drf-spectacular-sidecar (no CDN, no inline
# script or style: the CSP below; templates/drf_spectacular/swagger_ui.html). Tokens
# (tracker.models.ApiToken) or the admin's session (reads; its CSRF cookie is HttpOnly).
TRACKER_API_RATE = env_str("TRACKER_API_RATE", "600/minute")
TRACKER_API_ANON_RATE = env_str("TRACKER_API_ANON_RATE", "60/minute")
TRACKER_API_PAGE_SIZE = env_int("TRACKER_API_PAGE_SIZE", 50, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tracker.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # CSRF enforced
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tracker.api.auth.ApiAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["tracker.api.auth.PerToken", "tracker.api.auth.Anonymous"],
    "DEFAULT_THROTTLE_RATES": {"token": TRACKER_API_RATE, "anonymous": TRACKER_API_ANON_RATE},
    # JSON only: the pages to try the API are Swagger UI's (/api/docs/), whose template
    # keeps to the CSP; DRF's browsable pages carry inline styles.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tracker.api.errors.problem",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Accountability evidence tracker API",
    "DESCRIPTION": "The case through the same rules as the admin (docs/api.md).",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracker.api.schema.add_problems",
    ],
    "ENUM_NAME_OVERRIDES": {
        "DatePrecision": "tracker.models.base.DatePrecision",
        "ReviewStatus": "tracker.models.base.ReviewStatus",
        "JobKind": "tracker.models.jobs.JobKind",
        "EvidenceKind": "evidence.models.items.EvidenceKind",
    },
}

# Login protection (django-axes): after TRACKER_LOGIN_FAILURE_LIMIT failed logins for
# one username from one address, that pair is refused for TRACKER_LOGIN_COOLOFF_MINUTES.
# Locking the pair, not the address or the account alone, means a stranger guessing
# from elsewhere cannot lock a colleague out; failures during a lockout do not prolong
# it, so nobody can keep the team out for good.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked pair before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("TRACKER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("TRACKER_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "tracker.accounts.security.locked_out"
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged
# The client's address: REMOTE_ADDR, or with TRACKER_PROXY_COUNT=n proxies in front
# (each appending to X-Forwarded-For) the address the outermost proxy saw. Without a
# proxy the header is the client's own claim and is ignored.
TRACKER_PROXY_COUNT = env_int("TRACKER_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "tracker.accounts.security.client_ip"

# Second factor (django-otp, TOTP): members of these groups must confirm an
# authenticator app at their first login and enter its code after every password.
TRACKER_OTP_REQUIRED_GROUPS = env_list("TRACKER_OTP_REQUIRED_GROUPS", [])
OTP_TOTP_ISSUER = TRACKER_ORGANIZATION  # the name shown in the authenticator app
# The admin's device pages never show a key or QR code: an administrator removes a
# lost device but cannot copy someone's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Where a login goes when its ?next= is missing or points off-site (Django's default,
# /accounts/profile/, does not exist here).
LOGIN_REDIRECT_URL = "/"

# Django's own limits, stated: more files or fields in one request is refused with
# the readable 400 page (tracker.accounts.security.bad_request).
DATA_UPLOAD_MAX_NUMBER_FILES = 100
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# Error reports (500 page, mail to ADMINS) never show a witness's identity or settings.
DEFAULT_EXCEPTION_REPORTER_FILTER = "tracker.accounts.errors.IdentityReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("TRACKER_LOG_LEVEL", "INFO")},
}

"""Settings for gridmap: one family, everything that differs per deployment from the environment.

Variables (see README "Configuration"):

- ``DATABASE_URL`` (``postgis://user:pw@host:port/name``), ``REDIS_URL`` (``redis://...``): the
  services. Unset, the project-managed ones recorded in ``.local/env`` by ``bin/stack`` are used.
- ``SECRET_KEY``, ``DEBUG``, ``ALLOWED_HOSTS`` (comma separated), ``CSRF_TRUSTED_ORIGINS``.
- ``GRIDMAP_SRID``: the storage CRS, a metric projected CRS (default 4547, CGCS2000 / 3-degree
  Gauss-Kruger CM 114E). Read by models and migrations; fixed per database at its first migration.
- ``TIME_ZONE`` (default Asia/Shanghai), ``LANGUAGE_CODE`` (default zh-hans).
- ``GRIDMAP_DB_POOL``: size of a psycopg connection pool per process (the ASGI web server uses it,
  because Django's persistent connections are per thread); 0 = persistent connections instead.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def _read_local_env() -> dict[str, str]:
    """Values written by ``bin/stack`` into ``.local/env`` (ports, generated passwords)."""
    path = BASE_DIR / ".local" / "env"
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip()
    return values


_LOCAL = _read_local_env()


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _managed_database_url() -> str | None:
    if "GRIDMAP_PG_PORT" not in _LOCAL:
        return None
    return (
        f"postgis://gridmap:{_LOCAL['GRIDMAP_PG_PASSWORD']}@127.0.0.1:"
        f"{_LOCAL['GRIDMAP_PG_PORT']}/gridmap"
    )


def _managed_redis_url() -> str | None:
    if "GRIDMAP_REDIS_PORT" not in _LOCAL:
        return None
    return f"redis://:{_LOCAL['GRIDMAP_REDIS_PASSWORD']}@127.0.0.1:{_LOCAL['GRIDMAP_REDIS_PORT']}/0"


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY") or _LOCAL.get("GRIDMAP_LOCAL_SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment, or run `make run` once so that "
        "bin/stack generates a local one in .local/env."
    )
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# --- Spatial ----------------------------------------------------------------------------------
#: The storage CRS: one metric projected CRS per deployment. Models and migrations read it.
GRIDMAP_SRID = int(env("GRIDMAP_SRID", "4547"))
#: Grid code layout (digits per level: district admin code, subdistrict, community, grid),
#: Beijing's 15-digit layout by default; see reference/standards.md.
GRIDMAP_GRID_CODE_LAYOUT = tuple(
    int(p) for p in env("GRIDMAP_GRID_CODE_LAYOUT", "6+3+3+3").split("+")
)
#: Component (部件) code layout: admin code, major class, minor class, serial.
GRIDMAP_COMPONENT_CODE_LAYOUT = tuple(
    int(p) for p in env("GRIDMAP_COMPONENT_CODE_LAYOUT", "6+2+2+6").split("+")
)
#: How far (metres) a child may stick out of its parent before it counts as "not within".
GRIDMAP_NESTING_TOLERANCE_M = float(env("GRIDMAP_NESTING_TOLERANCE_M", "0.5"))
#: Default target area of a unit grid (万米单元网格), m².
GRIDMAP_GRID_TARGET_AREA_M2 = float(env("GRIDMAP_GRID_TARGET_AREA_M2", "10000"))
#: How long (s) a web process may show an area's old name after another process renamed it
#: (the geocoder's in-process directory; new and deleted areas show at once).
GRIDMAP_GEOCODER_DIRECTORY_TTL_S = float(env("GRIDMAP_GEOCODER_DIRECTORY_TTL_S", "60"))
#: Optional online basemap (e.g. Tianditu with a key); none by default: the district's own
#: roads, water and buildings are the basemap.
GRIDMAP_TILE_URL = env("GRIDMAP_TILE_URL", "")
GRIDMAP_TILE_ATTRIBUTION = env("GRIDMAP_TILE_ATTRIBUTION", "")

# --- Applications -----------------------------------------------------------------------------
INSTALLED_APPS = [
    # First, so that its templates (admin/index.html with the import link) override the admin's.
    "gridmap",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "leaflet",
    "django_celery_beat",
    "layers",
    "cameras",
    "cases",
    "dispatch",
    "tracking",
    "analysis",
    "evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridmap.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gridmap.urls"
WSGI_APPLICATION = "gridmap.wsgi.application"
ASGI_APPLICATION = "gridmap.asgi.application"
AUTH_USER_MODEL = "gridmap.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridmap.context_processors.navigation",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
_database_url = env("DATABASE_URL") or _managed_database_url()
if not _database_url:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set and there is no project-managed database yet: run `make run` "
        "(or `bin/stack up`), or set DATABASE_URL=postgis://user:password@host:port/name."
    )
_db = dj_database_url.parse(_database_url, engine="django.contrib.gis.db.backends.postgis")
# Django switches psycopg's prepared statements off (its own cursors bind client-side anyway);
# the hot selectors (geocoder) run on server-side-binding cursors and need them on.
_db.setdefault("OPTIONS", {})["prepare_threshold"] = 5
_pool = int(env("GRIDMAP_DB_POOL", "0"))
if _pool:
    # Django's persistent connections live per thread, and the ASGI server runs each sync view in
    # a fresh thread, so the web server uses a pool instead (CONN_MAX_AGE must then be 0).
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": _pool, "timeout": 10}
else:
    _db["CONN_MAX_AGE"] = int(env("CONN_MAX_AGE", "300"))
    _db["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache (rate limits), Celery broker, live-update pub/sub -----------------------------
REDIS_URL = env("REDIS_URL") or _managed_redis_url() or "redis://127.0.0.1:6379/0"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "gridmap",
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = env("TIME_ZONE", "Asia/Shanghai")
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Tasks are acknowledged after they ran, so a worker that dies mid-task does not lose it.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "sweep-clocks": {
        "task": "cases.tasks.sweep_clocks",
        "schedule": float(env("GRIDMAP_SWEEP_INTERVAL_S", "2")),
    },
    "deliver-notifications": {
        "task": "cases.tasks.deliver_notifications",
        "schedule": float(env("GRIDMAP_SWEEP_INTERVAL_S", "2")),
    },
    # Cameras silent for GRIDMAP_CAMERA_OFFLINE_S go offline, one alert each.
    "sweep-camera-heartbeats": {
        "task": "cameras.heartbeat.sweep_camera_heartbeats",
        "schedule": float(env("GRIDMAP_CAMERA_SWEEP_S", "30")),
    },
    # Viewsheds left stale (cameras bulk-imported, a recomputation lost while Redis was down).
    "viewsheds-catch-up": {
        "task": "cameras.tasks.compute_stale_viewsheds",
        "schedule": float(env("GRIDMAP_VIEWSHED_SWEEP_S", "60")),
    },
    # Field teams (tracking): on duty from fresh positions, absences, position partitions.
    "sweep-duty": {
        "task": "tracking.tasks.sweep_duty",
        "schedule": float(env("GRIDMAP_DUTY_SWEEP_S", "60")),
    },
    "write-absences": {
        "task": "tracking.tasks.write_absences",
        "schedule": float(env("GRIDMAP_ABSENCE_SWEEP_S", "300")),
    },
    "ensure-position-partitions": {
        "task": "tracking.tasks.ensure_partitions",
        "schedule": 6 * 3600.0,
    },
}
# With Redis down, publishing must fail fast (the database is the truth; the sweeps catch up)
# instead of holding a request while kombu retries.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
#: Task modules beyond each app's tasks.py (autodiscovered).
CELERY_IMPORTS = ("cameras.heartbeat",)
CELERY_TASK_PUBLISH_RETRY = False
#: Celery closes the database connection around every task unless told to reuse it.
CELERY_DB_REUSE_MAX = int(env("CELERY_DB_REUSE_MAX", "1000"))

# --- The closed loop: clocks, working time, escalation, notifications --------------------------
#: Short clocks in wall-clock minutes (per category: Category.clock_minutes).
GRIDMAP_CLOCK_MINUTES = {
    "filing": float(env("GRIDMAP_FILING_MINUTES", "5")),
    "dispatch": float(env("GRIDMAP_DISPATCH_MINUTES", "1")),
    "arrival": float(env("GRIDMAP_ARRIVAL_MINUTES", "10")),
    "feedback": float(env("GRIDMAP_FEEDBACK_MINUTES", "3")),
}
#: Verification (核查) and, for a category without a time limit, disposal: "VALUE UNIT".
GRIDMAP_VERIFICATION_LIMIT = env("GRIDMAP_VERIFICATION_LIMIT", "1 working_hours")
GRIDMAP_DEFAULT_DISPOSAL_LIMIT = env("GRIDMAP_DEFAULT_DISPOSAL_LIMIT", "1 working_days")
#: Public holidays and adjusted working days (the `holidays` package's country code).
GRIDMAP_HOLIDAY_COUNTRY = env("GRIDMAP_HOLIDAY_COUNTRY", "CN")
GRIDMAP_WORKING_HOURS = env("GRIDMAP_WORKING_HOURS", "08:30-12:00,14:00-18:00")
#: How often (s) Celery beat sweeps for overdue clocks and pending deliveries.
GRIDMAP_SWEEP_INTERVAL_S = float(env("GRIDMAP_SWEEP_INTERVAL_S", "2"))
#: Camera events (视频智能告警): a repeat of one camera and category within this many seconds
#: joins the case of the first; a camera silent this long goes offline with one alert.
GRIDMAP_CAMERA_EVENT_DEDUP_S = float(env("GRIDMAP_CAMERA_EVENT_DEDUP_S", "600"))
GRIDMAP_CAMERA_OFFLINE_S = float(env("GRIDMAP_CAMERA_OFFLINE_S", "600"))
#: How often (s) a video wall page (视频墙) asks for its layout.
GRIDMAP_WALL_POLL_S = float(env("GRIDMAP_WALL_POLL_S", "3"))
#: The live demo (演示模拟, ``manage.py simulate_demo``) invents cases and drives the loop: off
#: unless asked for (``make run`` turns it on for the demo district; never in production).
GRIDMAP_DEMO_SIMULATOR = env_bool("GRIDMAP_DEMO_SIMULATOR", False)
# Dispatch and field teams (调度与执行队伍).
#: A team's position older than this (s) is stale: dispatch falls back to straight-line
#: distance from it and the team does not count as on duty from its fixes.
GRIDMAP_POSITION_FRESH_S = float(env("GRIDMAP_POSITION_FRESH_S", "300"))
#: Travel speed (km/h) of the straight-line fallback (no fresh position, or no road path).
GRIDMAP_FALLBACK_SPEED_KMH = float(env("GRIDMAP_FALLBACK_SPEED_KMH", "15"))
#: How many teams a recommendation lists.
GRIDMAP_RECOMMEND_TOP_N = int(env("GRIDMAP_RECOMMEND_TOP_N", "5"))
#: "Arrived" is accepted within this distance (m) of the case, beyond it only with a reason.
GRIDMAP_ARRIVAL_RADIUS_M = float(env("GRIDMAP_ARRIVAL_RADIUS_M", "100"))
#: A team returning from a job (返回) counts as available again after this many minutes.
GRIDMAP_RETURNING_MINUTES = float(env("GRIDMAP_RETURNING_MINUTES", "15"))
#: Fixes implying a speed above this (km/h) from the unit's previous fix are flagged.
GRIDMAP_MAX_FIX_SPEED_KMH = float(env("GRIDMAP_MAX_FIX_SPEED_KMH", "150"))
#: Fixes timestamped further than this (s) in the future are rejected.
GRIDMAP_MAX_FIX_FUTURE_S = float(env("GRIDMAP_MAX_FIX_FUTURE_S", "120"))
#: Fixes older than this (days) are rejected; a batch holds at most this many fixes.
GRIDMAP_MAX_FIX_AGE_DAYS = float(env("GRIDMAP_MAX_FIX_AGE_DAYS", "30"))
GRIDMAP_MAX_FIX_BATCH = int(env("GRIDMAP_MAX_FIX_BATCH", "1000"))
#: Fixes farther than this (m) outside the district, or less accurate than this (m), are flagged.
GRIDMAP_FIX_DISTRICT_MARGIN_M = float(env("GRIDMAP_FIX_DISTRICT_MARGIN_M", "1000"))
GRIDMAP_MAX_FIX_ACCURACY_M = float(env("GRIDMAP_MAX_FIX_ACCURACY_M", "200"))
#: A muck truck this close (m) to its approved route corridor is on it (per route: buffer_m).
GRIDMAP_ROUTE_BUFFER_M = float(env("GRIDMAP_ROUTE_BUFFER_M", "30"))
#: Attendance: a check-in this many minutes after the shift start is late (and a check-out
#: before its end early); a team without a base geofence has a base of this radius (m).
GRIDMAP_ATTENDANCE_GRACE_MIN = float(env("GRIDMAP_ATTENDANCE_GRACE_MIN", "5"))
GRIDMAP_ATTENDANCE_RADIUS_M = float(env("GRIDMAP_ATTENDANCE_RADIUS_M", "200"))
#: Outbound channels: e-mail (Django's EMAIL_* settings), an SMS gateway (JSON POST
#: {"to", "text"}), a webhook (JSON POST, signed with HMAC-SHA256 when a secret is set).
#: A channel is on when configured.
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "gridmap@localhost")
EMAIL_TIMEOUT = 10
GRIDMAP_SMS_URL = env("GRIDMAP_SMS_URL", "")
GRIDMAP_SMS_TOKEN = env("GRIDMAP_SMS_TOKEN", "")
GRIDMAP_WEBHOOK_URL = env("GRIDMAP_WEBHOOK_URL", "")
GRIDMAP_WEBHOOK_SECRET = env("GRIDMAP_WEBHOOK_SECRET", "")

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = env("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static and media files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages installed by npm (package.json; `bin/stack deps` runs npm ci), served
# locally like everything else: hls.js plays HLS camera streams on the video wall.
STATICFILES_DIRS = [("vendor/hls.js", BASE_DIR / "node_modules" / "hls.js" / "dist")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
#: Serve static files straight from the apps (no collectstatic): for test servers only.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = env_bool("GRIDMAP_STATIC_FROM_APPS", False)
MEDIA_ROOT = Path(env("GRIDMAP_MEDIA_ROOT", str(BASE_DIR / ".local" / "media")))
MEDIA_URL = "media/"
#: Largest accepted evidence files (MB): a phone photo is a few MB, a short video tens.
GRIDMAP_MAX_PHOTO_MB = float(env("GRIDMAP_MAX_PHOTO_MB", "15"))
GRIDMAP_MAX_VIDEO_MB = float(env("GRIDMAP_MAX_VIDEO_MB", "200"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gridmap.authentication.SessionAuthentication401",
        # Devices (cameras, 4G units) and scripts: a token per account (drf_create_token).
        "gridmap.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # Public endpoints, per client address (DESIGN §5).
        "lookup": env("GRIDMAP_RATE_LOOKUP", "60/min"),
        "report": env("GRIDMAP_RATE_REPORT", "10/min"),
    },
    # Behind a reverse proxy set this to the number of proxies so the client address is right.
    "NUM_PROXIES": int(env("GRIDMAP_NUM_PROXIES", "0")) or None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "gridmap API",
    "DESCRIPTION": "Grid-based city management (数字城管): geography, cases, dispatch.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Maps (django-leaflet; Leaflet is served from the package, never a CDN) -------------------
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (34.72, 113.73),
    "DEFAULT_ZOOM": 14,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 20,
    "TILES": [(str(_("Online basemap")), GRIDMAP_TILE_URL, GRIDMAP_TILE_ATTRIBUTION)]
    if GRIDMAP_TILE_URL
    else [],
    "RESET_VIEW": False,
}

# --- Logging to stdout ------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"handlers": ["stdout"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

SILENCED_SYSTEM_CHECKS = [
    # Debian bookworm ships GDAL 3.6; Django warns below 3.9 but everything we use works on it.
    "gis.W001",
]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the pages' fetch() calls read the token from the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("GRIDMAP_SECURE_COOKIES", False)
    CSRF_COOKIE_SECURE = env_bool("GRIDMAP_SECURE_COOKIES", False)

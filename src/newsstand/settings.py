"""Django settings. Every knob is an environment variable (documented in README.md);
the defaults serve the embedded case: SQLite and files under ./var."""

import os
import tempfile
from pathlib import Path

import dj_database_url


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("NEWSSTAND_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("NEWSSTAND_DEBUG", False)
# A fixed development key is only acceptable for the loopback-only demo; `serve` refuses it
# when DEBUG is off and the host list is not loopback (see newsstand.cli).
SECRET_KEY = os.environ.get("NEWSSTAND_SECRET_KEY", "newsstand-insecure-development-key")
ALLOWED_HOSTS = env_list("NEWSSTAND_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_tasks",
    "django_tasks_db",
    "newsstand.ingest",
    "newsstand.news",
    "newsstand.intel",
    "newsstand.api",
    "newsstand.web",
    "newsstand.demo",
]

MIDDLEWARE = [
    # First, so that it times and counts everything below it (see newsstand.web.metrics).
    "newsstand.web.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Anonymous reader pages from the page cache, before sessions, CSRF, auth and the view
    # (see newsstand.web.pagecache); after SecurityMiddleware, whose redirects still apply.
    "newsstand.web.pagecache.PageCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "newsstand.urls"
WSGI_APPLICATION = "newsstand.wsgi.application"

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

DATABASE_URL = os.environ.get("NEWSSTAND_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'newsstand.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Kept open (per thread) across requests: opening an SQLite connection and running the
    # PRAGMAs below costs ~1.5 ms, more than a cached page. Autocommit holds no lock or
    # snapshot between queries, so an idle open connection blocks no writer.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    # Web, worker and scheduler share one file: WAL lets readers run beside the writer,
    # IMMEDIATE takes the write lock up front (no upgrade deadlocks), and the timeout makes
    # a writer wait instead of failing with "database is locked". The WAL is copied back
    # into the database (with an fsync) every 10,000 pages rather than SQLite's 1,000: a poll
    # rewrites the same index pages, which are then copied once instead of ten times (storing
    # a feed's entries went from 6.3 to 4.9 ms); journal_size_limit trims the WAL file after.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                        "PRAGMA wal_autocheckpoint=10000; PRAGMA journal_size_limit=67108864;",
    }
    # A file, not memory: tests start real `newsstand worker` processes on the test database.
    # One file per test run, so concurrent runs never share a test database.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"newsstand-test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Hashed names for long caching; whitenoise serves them straight from the app folders,
# so `newsstand serve` needs no collectstatic step.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MANIFEST_STRICT = False

# Reader pages (newsstand.web.pagecache): anonymous GETs of home, article, source, tag and
# story pages are kept this many seconds; 0 turns the cache off. New articles show at once
# on the lists whatever this is (the key carries a site version read from the database).
NEWSSTAND_PAGE_CACHE_SECONDS = int(os.environ.get("NEWSSTAND_PAGE_CACHE_SECONDS", 30))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    },
    # Shared by every web process of this machine: an SQLite file in the data dir
    # (newsstand.web.sqlitecache), so each page is rendered once per machine per TTL, not
    # once per gunicorn worker, and workers keep no copies in memory. An entry is a page and
    # its gzipped copy, ~20 kB: at most ~200 MB on disk, usually far less (entries expire).
    # With several machines, a shared backend (Redis, Memcached) may replace it.
    "pages": {
        "BACKEND": "newsstand.web.sqlitecache.SQLiteCache",
        "LOCATION": "",  # DATA_DIR/pagecache.sqlite3, read from the settings at each use
        "OPTIONS": {"MAX_ENTRIES": 10000, "CULL_FREQUENCY": 4},
    },
}

# --- ingestion ---------------------------------------------------------------------------
NEWSSTAND_ALLOWED_FETCH_HOSTS = env_list("NEWSSTAND_ALLOWED_FETCH_HOSTS")
NEWSSTAND_FETCH_MAX_BYTES = int(os.environ.get("NEWSSTAND_FETCH_MAX_BYTES", 10 * 1024 * 1024))
NEWSSTAND_FETCH_CONNECT_TIMEOUT = float(os.environ.get("NEWSSTAND_FETCH_CONNECT_TIMEOUT", 10))
NEWSSTAND_FETCH_READ_TIMEOUT = float(os.environ.get("NEWSSTAND_FETCH_READ_TIMEOUT", 20))
# Wall-clock cap for one response, so a server that trickles bytes forever is cut off.
NEWSSTAND_FETCH_TOTAL_TIMEOUT = float(os.environ.get("NEWSSTAND_FETCH_TOTAL_TIMEOUT", 60))
NEWSSTAND_FETCH_MAX_REDIRECTS = int(os.environ.get("NEWSSTAND_FETCH_MAX_REDIRECTS", 5))
NEWSSTAND_USER_AGENT = os.environ.get(
    "NEWSSTAND_USER_AGENT",
    "Newsstand/0.1 (self-hosted news aggregator; +https://github.com/newsstand/newsstand)",
)
# Politeness towards one publisher, shared by all its feeds and pages.
NEWSSTAND_DOMAIN_CONCURRENCY = int(os.environ.get("NEWSSTAND_DOMAIN_CONCURRENCY", 2))
NEWSSTAND_DOMAIN_RATE = float(os.environ.get("NEWSSTAND_DOMAIN_RATE", 2.0))  # requests/s; 0 = unlimited
NEWSSTAND_POLL_MIN_INTERVAL = int(os.environ.get("NEWSSTAND_POLL_MIN_INTERVAL", 5 * 60))
NEWSSTAND_POLL_MAX_INTERVAL = int(os.environ.get("NEWSSTAND_POLL_MAX_INTERVAL", 24 * 3600))
NEWSSTAND_POLL_DEFAULT_INTERVAL = int(os.environ.get("NEWSSTAND_POLL_DEFAULT_INTERVAL", 30 * 60))
# Off: articles are what the feeds carry, no article page is requested (excerpt-only mode).
NEWSSTAND_FETCH_PAGES = env_bool("NEWSSTAND_FETCH_PAGES", True)
NEWSSTAND_FETCH_WORKERS = int(os.environ.get("NEWSSTAND_FETCH_WORKERS", 8))

# --- image proxy (newsstand.web.imageproxy) ---------------------------------------------------
# Empty: DATA_DIR/images. A rebuildable cache; delete it whenever you like.
NEWSSTAND_IMAGE_CACHE_DIR = os.environ.get("NEWSSTAND_IMAGE_CACHE_DIR", "")
NEWSSTAND_IMAGE_CACHE_MB = float(os.environ.get("NEWSSTAND_IMAGE_CACHE_MB", 2048))  # 0 = no limit
NEWSSTAND_IMAGE_MAX_BYTES = int(os.environ.get("NEWSSTAND_IMAGE_MAX_BYTES", 8 * 1024 * 1024))
# Checked from the header before decoding (decompression bombs). 25 MP covers a 6000x4000 photo.
NEWSSTAND_IMAGE_MAX_PIXELS = int(os.environ.get("NEWSSTAND_IMAGE_MAX_PIXELS", 25_000_000))
NEWSSTAND_IMAGE_WIDTHS = tuple(int(w) for w in env_list("NEWSSTAND_IMAGE_WIDTHS", "120,240,360,480,720,960,1200"))
# Wall clock for fetching one original; a reader's page is waiting for it.
NEWSSTAND_IMAGE_FETCH_TIMEOUT = float(os.environ.get("NEWSSTAND_IMAGE_FETCH_TIMEOUT", 15))

# --- metrics (newsstand.web.metrics) ------------------------------------------------------------
# When set, /metrics answers only requests with "Authorization: Bearer <token>".
NEWSSTAND_METRICS_TOKEN = os.environ.get("NEWSSTAND_METRICS_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "newsstand": {"handlers": ["console"], "level": os.environ.get("NEWSSTAND_LOG_LEVEL", "INFO")},
        "django_tasks_db": {"handlers": ["console"], "level": "WARNING"},
    },
}

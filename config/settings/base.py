"""Settings shared by every environment.

The environment is read once, here, through django-environ. ``dev``, ``test`` and
``production`` start from this module and change only what differs.
"""

from pathlib import Path
from typing import Any

import environ
from corsheaders import defaults as corsheaders_defaults

BASE_DIR = Path(__file__).resolve().parent.parent.parent
APPS_DIR = BASE_DIR / "apps"

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

# --- core -------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The site's public origin: the Site domain and every absolute link in email come from it.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en"
USE_I18N = True
SITE_ID = 1

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- database ---------------------------------------------------------------
# A SQLite file in the project folder unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once with "database is locked": a
    # transaction takes the write lock when it begins (IMMEDIATE), so two that record the
    # same thing at once queue up, as on PostgreSQL, instead of the second failing when it
    # first writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- applications -----------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "allauth",
    "allauth.account",
    "allauth.headless",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "allauth.socialaccount.providers.google",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "template_partials",
    "csp",
    "django_guid",
    "corsheaders",
]
LOCAL_APPS = [
    "apps.core",
    "apps.accounts",
    "apps.content",
    "apps.progress",
    "apps.linkhealth",
    "apps.reminders",
    "apps.learning",
    "apps.curation",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    # First, so every log line of the request, and its answer, carry the request id.
    "django_guid.middleware.guid_middleware",
    # Before anything that answers: a preflight is answered here, never by a view.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Safe against BREACH: Django masks the CSRF token anew in every response.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.json_guard.HeadlessJSONGuardMiddleware",
    "apps.core.api.middleware.ApiResponseHeadersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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

# --- auth -------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
# allauth's default rate limits stay on (they need a shared cache: Redis when configured).
ACCOUNT_LOGIN_BY_CODE_ENABLED = False
# Codes work for the web and for mobile apps alike (an app cannot follow a link).
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Stepwise] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = SITE_URL.split("://", 1)[0]
SOCIALACCOUNT_ONLY = False
# A provider with no social application in the admin: 404 on its pages, not a 500.
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
# Links in allauth's emails use the site's public scheme (SITE_URL), not the request's.
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
# Sign-up also asks for the time zone (the browser's is suggested).
ACCOUNT_SIGNUP_FORM_CLASS = "apps.accounts.forms.SignupTimezoneForm"
# Staff (and any learner who wants it) can add an authenticator app, with recovery codes.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Stepwise"
# Mobile apps sign in through allauth headless (/_allauth/app/v1/...).
HEADLESS_CLIENTS = ("app",)
HEADLESS_ONLY = False
# The sign-in API's OpenAPI document, at /_allauth/openapi.json (and .yaml), trimmed to the
# routes Stepwise offers (apps/core/headless_spec.py); shown in Swagger UI at /api/docs/auth/.
# Not allauth's own HTML page: it loads Redoc from a CDN.
HEADLESS_SERVE_SPECIFICATION = True
HEADLESS_SPECIFICATION_TEMPLATE_NAME = None

# --- cache ------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# A learner's rendered step list on a track page, in the default (shared) cache, keyed by
# everything it shows (content revision, their statuses, link health, CSRF secret), so
# it is never stale; it only needs to expire to free the space of learners gone quiet.
STEPWISE_LEARNER_FRAGMENT_SECONDS = env.int("STEPWISE_LEARNER_FRAGMENT_SECONDS", default=3600)
# How long a track's figures (steps, hours, learners) are kept for its page; only the
# count of learners can lag behind, by at most this long.
STEPWISE_TRACK_FIGURES_SECONDS = env.int("STEPWISE_TRACK_FIGURES_SECONDS", default=60)
# A learner's private note on a step: at most this many characters, and this many links.
STEPWISE_NOTE_MAX_CHARS = env.int("STEPWISE_NOTE_MAX_CHARS", default=20_000)
STEPWISE_NOTE_MAX_LINKS = env.int("STEPWISE_NOTE_MAX_LINKS", default=20)
# Note saves a learner may make from the web per minute (htmx saves as they type).
STEPWISE_WEB_NOTE_SAVES_PER_MINUTE = env.int("STEPWISE_WEB_NOTE_SAVES_PER_MINUTE", default=60)
# Content-only page fragments kept per process: the most recent this many.
STEPWISE_FRAGMENT_MEMO_SIZE = env.int("STEPWISE_FRAGMENT_MEMO_SIZE", default=20000)
# "fragments": `{% cache None <name> <values...> using="fragments" %}` around the parts of
# a page that depend on content alone, keyed by the content revision (so a stale fragment
# is never served and none needs to expire). In the process, so no network round trip per
# fragment; when full, the least recently used one goes. Nothing that depends on who is
# asking (status, CSRF token, forms) belongs inside.
FRAGMENT_CACHE = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "stepwise-fragments",
    "TIMEOUT": None,
    "OPTIONS": {
        "MAX_ENTRIES": STEPWISE_FRAGMENT_MEMO_SIZE,
        "CULL_FREQUENCY": STEPWISE_FRAGMENT_MEMO_SIZE,
    },
}
if REDIS_URL:
    CACHES = {
        "default": {
            # Falls back to a per-process cache while Redis is down (see apps/core/cache.py).
            "BACKEND": "apps.core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"RETRY_SECONDS": env.float("CACHE_REDIS_RETRY_SECONDS", default=5.0)},
        },
        "fragments": FRAGMENT_CACHE,
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "fragments": FRAGMENT_CACHE,
    }

# --- email ------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Stepwise <hello@stepwise.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- static -----------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Served at the site's root by WhiteNoise: /favicon.ico, which some clients ask for blindly.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

# --- celery -----------------------------------------------------------------
# Without REDIS_URL, tasks run eagerly in-process so the app needs nothing but Python.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The broker: a publish gives up after CELERY_BROKER_CONNECTION_TIMEOUT seconds (retries
# included) when Redis is down or unreachable, and after the socket timeout when it stops
# answering, so a request never hangs on it (see the outbox below). Workers and beat wait
# for the broker instead, at startup too, however long it is away.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5.0),
    "socket_keepalive": True,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Every task is bounded: at the soft limit it gets SoftTimeLimitExceeded (and records what it
# did; link checks retry, reminder sends hand the rest back), at the hard limit its worker
# process is killed and the task counts as failed (not redelivered). Tasks needing other
# bounds set their own, from the settings after these.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# A link check chunk: up to LINK_CHECK_CHUNK_SIZE links on slow hosts, retries included.
LINK_CHECK_CHUNK_SOFT_TIME_LIMIT = env.int("LINK_CHECK_CHUNK_SOFT_TIME_LIMIT", default=900)
LINK_CHECK_CHUNK_TIME_LIMIT = env.int("LINK_CHECK_CHUNK_TIME_LIMIT", default=960)
# The daily refresh of usual study hours reads weeks of every learner's progress.
REMINDERS_USUAL_HOURS_SOFT_TIME_LIMIT = env.int(
    "REMINDERS_USUAL_HOURS_SOFT_TIME_LIMIT", default=1800
)
REMINDERS_USUAL_HOURS_TIME_LIMIT = env.int("REMINDERS_USUAL_HOURS_TIME_LIMIT", default=1860)
# The curator dashboard's refresh (beat every 15 minutes, editable in admin): a full refresh
# reads every status and event once; the incremental one only what changed since.
CURATION_REFRESH_SOFT_TIME_LIMIT = env.int("CURATION_REFRESH_SOFT_TIME_LIMIT", default=1800)
CURATION_REFRESH_TIME_LIMIT = env.int("CURATION_REFRESH_TIME_LIMIT", default=1860)
# The dashboard's site charts cover this many weeks; a reminder counts as followed by
# progress when the learner studies within this many hours of it.
CURATION_WEEKS = 12
CURATION_PROGRESS_WINDOW_HOURS = 48
# Resources listed on the page (those needing attention first); the CSV has them all.
CURATION_RESOURCES_SHOWN = 50
# The outbox (apps/core/outbox.py): a task a request enqueues is a row first, published on
# commit, or by the relay (beat every 30 s, or `manage.py relay_outbox`) while the broker is
# down. A failed message waits BACKOFF * 2**(n-1) seconds, capped, before its next try.
OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=100)
# A relay run starts no new batch after this long (it runs every 30 s).
OUTBOX_RELAY_MAX_SECONDS = env.float("OUTBOX_RELAY_MAX_SECONDS", default=20.0)
# Seconds between two passes of `manage.py relay_outbox` (the beat's interval is in admin).
OUTBOX_RELAY_INTERVAL_SECONDS = env.float("OUTBOX_RELAY_INTERVAL_SECONDS", default=30.0)
OUTBOX_RETRY_BACKOFF_SECONDS = env.float("OUTBOX_RETRY_BACKOFF_SECONDS", default=5.0)
OUTBOX_RETRY_BACKOFF_MAX_SECONDS = env.float("OUTBOX_RETRY_BACKOFF_MAX_SECONDS", default=60.0)
# After a failed publish, a process leaves new messages to the relay this long, so requests
# do not each wait out a broker timeout during an outage.
OUTBOX_PUBLISH_PAUSE_SECONDS = env.float("OUTBOX_PUBLISH_PAUSE_SECONDS", default=10.0)
# Sent messages are kept this long (to look into), then deleted by the relay.
OUTBOX_KEEP_SENT_HOURS = env.int("OUTBOX_KEEP_SENT_HOURS", default=24)

# --- REST framework ---------------------------------------------------------
# REST_FRAMEWORK itself is in the REST API block below.

# --- logging ----------------------------------------------------------------
# "json" (production's default): one JSON object a line on stdout, with the request id.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId"}},
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s [%(correlation_id)s]: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            "rename_fields": {
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
# The request id: taken from the proxy's X-Request-ID when valid, else made; always answered.
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "RETURN_HEADER": True,
    # Exposed to other origins by CORS_EXPOSE_HEADERS, with the rest (not in place of it).
    "EXPOSE_HEADER": False,
    "VALIDATE_GUID": True,
    "INTEGRATIONS": [],
}

# --- security headers -------------------------------------------------------
# No inline script anywhere (htmx, the admin and Swagger UI load theirs from /static/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin and Swagger UI set style attributes; styles cannot run code.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "https:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
if env("CSP_REPORT_URI", default=""):
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [env("CSP_REPORT_URI")]

# --- Stepwise ---------------------------------------------------------------
# Where the built-in roadmaps live (one YAML file per track).
STEPWISE_ROADMAPS_DIR = BASE_DIR / "roadmaps"
# Importing a roadmap article (admin and import_article): the longest article read, the
# minutes a step gets when its section states no time, and the study hours in a day or a
# week of a course (a "4 weeks" course is 4 weeks of this many hours, not of 168).
STEPWISE_IMPORT_MAX_BYTES = env.int("STEPWISE_IMPORT_MAX_BYTES", default=512 * 1024)
STEPWISE_IMPORT_DEFAULT_MINUTES = env.int("STEPWISE_IMPORT_DEFAULT_MINUTES", default=60)
STEPWISE_IMPORT_HOURS_PER_DAY = env.int("STEPWISE_IMPORT_HOURS_PER_DAY", default=2)
STEPWISE_IMPORT_HOURS_PER_WEEK = env.int("STEPWISE_IMPORT_HOURS_PER_WEEK", default=5)
# Tags that survive sanitizing of curator-written Markdown.
STEPWISE_MARKDOWN_ALLOWED_TAGS = [
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h3",
    "h4",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
]
# How long /readyz waits for each dependency before calling it down.
READYZ_TIMEOUT_SECONDS = env.float("READYZ_TIMEOUT_SECONDS", default=1.0)
# How far in the future a client's "it happened at" may be before it is refused.
STEPWISE_MAX_CLOCK_SKEW_SECONDS = env.int("STEPWISE_MAX_CLOCK_SKEW_SECONDS", default=300)

# --- link health ------------------------------------------------------------
# The checker: how hard it may push, how long it waits, what it says it is.
LINK_CHECK_CONCURRENCY = env.int("LINK_CHECK_CONCURRENCY", default=64)
LINK_CHECK_PER_HOST = env.int("LINK_CHECK_PER_HOST", default=4)
# Minimum gap between two requests to one host, and the gap after a host answered 429.
LINK_CHECK_HOST_INTERVAL_SECONDS = env.float("LINK_CHECK_HOST_INTERVAL_SECONDS", default=0.02)
LINK_CHECK_SLOWED_HOST_INTERVAL_SECONDS = env.float(
    "LINK_CHECK_SLOWED_HOST_INTERVAL_SECONDS", default=2.0
)
LINK_CHECK_CONNECT_TIMEOUT_SECONDS = env.float("LINK_CHECK_CONNECT_TIMEOUT_SECONDS", default=5.0)
LINK_CHECK_TIMEOUT_SECONDS = env.float("LINK_CHECK_TIMEOUT_SECONDS", default=15.0)
LINK_CHECK_MAX_REDIRECTS = env.int("LINK_CHECK_MAX_REDIRECTS", default=10)
LINK_CHECK_RETRIES = env.int("LINK_CHECK_RETRIES", default=2)
LINK_CHECK_BACKOFF_SECONDS = env.float("LINK_CHECK_BACKOFF_SECONDS", default=1.0)
# A Retry-After up to this long is waited for; a host asking for longer is checked again
# at the next run instead.
LINK_CHECK_RETRY_AFTER_CAP_SECONDS = env.float("LINK_CHECK_RETRY_AFTER_CAP_SECONDS", default=10.0)
# One URL's whole check (redirects, retries and waits) ends by this many seconds.
LINK_CHECK_URL_DEADLINE_SECONDS = env.float("LINK_CHECK_URL_DEADLINE_SECONDS", default=60.0)
# Bytes of a GET body read at most: enough to recognise a page, never a whole video.
LINK_CHECK_BODY_CAP_BYTES = env.int("LINK_CHECK_BODY_CAP_BYTES", default=65536)
LINK_CHECK_CONTACT_URL = env("LINK_CHECK_CONTACT_URL", default=f"{SITE_URL}/")
LINK_CHECK_USER_AGENT = env(
    "LINK_CHECK_USER_AGENT",
    default=f"Mozilla/5.0 (compatible; Stepwise-LinkCheck/1.0; +{LINK_CHECK_CONTACT_URL})",
)
# Only tests and benchmarks set this: CIDRs let through although not public.
LINK_CHECK_ALLOWED_NETWORKS = env.list("LINK_CHECK_ALLOWED_NETWORKS", default=[])
# Ask HEAD first (then GET when refused) instead of one GET with a capped body.
LINK_CHECK_HEAD_FIRST = env.bool("LINK_CHECK_HEAD_FIRST", default=False)
# With LINK_CHECK_HEAD_FIRST: hosts whose servers answer HEAD wrongly go straight to GET.
LINK_CHECK_GET_ONLY_HOSTS = env.list(
    "LINK_CHECK_GET_ONLY_HOSTS",
    default=["www.amazon.com", "www.amazon.co.uk", "www.linkedin.com", "medium.com"],
)
# Provider rules (soft-404s): the hosts they apply to and the endpoints they ask.
LINK_CHECK_YOUTUBE_HOSTS = env.list(
    "LINK_CHECK_YOUTUBE_HOSTS",
    default=["www.youtube.com", "youtube.com", "m.youtube.com", "youtu.be"],
)
LINK_CHECK_YOUTUBE_OEMBED_URL = env(
    "LINK_CHECK_YOUTUBE_OEMBED_URL", default="https://www.youtube.com/oembed"
)
LINK_CHECK_YOUTUBE_THUMBNAIL_URL = env(
    "LINK_CHECK_YOUTUBE_THUMBNAIL_URL", default="https://i.ytimg.com/vi/{video_id}/default.jpg"
)
LINK_CHECK_COURSERA_HOSTS = env.list("LINK_CHECK_COURSERA_HOSTS", default=["www.coursera.org"])
LINK_CHECK_UDEMY_HOSTS = env.list("LINK_CHECK_UDEMY_HOSTS", default=["www.udemy.com"])
# Damping: broken only after this many failed checks at least this far apart.
LINK_HEALTH_BROKEN_AFTER_CHECKS = env.int("LINK_HEALTH_BROKEN_AFTER_CHECKS", default=2)
LINK_HEALTH_BROKEN_SPACING_HOURS = env.float("LINK_HEALTH_BROKEN_SPACING_HOURS", default=6.0)
# Which links are due: never checked, ok links after N days, failing links after N hours.
LINK_CHECK_RECHECK_DAYS = env.int("LINK_CHECK_RECHECK_DAYS", default=7)
LINK_CHECK_FAILING_RECHECK_HOURS = env.int("LINK_CHECK_FAILING_RECHECK_HOURS", default=24)
# Links per check task (a host's links are never split). A chunk checks its hosts at
# once, so its time is about its busiest host's whatever its size: large chunks let a few
# worker processes check thousands of links together.
LINK_CHECK_CHUNK_SIZE = env.int("LINK_CHECK_CHUNK_SIZE", default=1000)
# A chunk records its results in batches: this many, or once the first is this old.
LINK_CHECK_RECORD_BATCH_SIZE = env.int("LINK_CHECK_RECORD_BATCH_SIZE", default=100)
LINK_CHECK_RECORD_BATCH_SECONDS = env.float("LINK_CHECK_RECORD_BATCH_SECONDS", default=0.5)
LINK_CHECK_HISTORY_SHOWN = env.int("LINK_CHECK_HISTORY_SHOWN", default=20)
# Learners' reports: at most N per learner within the window.
LINK_REPORT_RATE_LIMIT = env.int("LINK_REPORT_RATE_LIMIT", default=10)
LINK_REPORT_RATE_WINDOW_MINUTES = env.int("LINK_REPORT_RATE_WINDOW_MINUTES", default=60)
# httpx logs a line per request; the checker's summary is enough.
LOGGING.setdefault("loggers", {})["httpx"] = {"level": "WARNING"}  # type: ignore[index]
# django-guid says at INFO, for every request, that it made an id: the id is on each line.
LOGGING["loggers"]["django_guid"] = {"level": "WARNING"}  # type: ignore[index]

# --- reminders --------------------------------------------------------------
# The beat task runs every N minutes; a learner is due when their reminder moment falls in it.
# The beat's crontab follows it after every `migrate` (beat_schedules_sync); it must divide
# an hour, or be whole hours that divide a day (system check reminders.E001).
REMINDERS_WINDOW_MINUTES = env.int("REMINDERS_WINDOW_MINUTES", default=15)
# "When I usually study": the modal local hour of progress over the last N days, else this hour.
REMINDERS_USUAL_HOUR_DAYS = env.int("REMINDERS_USUAL_HOUR_DAYS", default=60)
REMINDERS_DEFAULT_HOUR = env.int("REMINDERS_DEFAULT_HOUR", default=18)
# Reminders pause after this many in a row with no progress in between.
REMINDERS_PAUSE_AFTER = env.int("REMINDERS_PAUSE_AFTER", default=3)
REMINDERS_WEEKLY_GOAL_MAX = env.int("REMINDERS_WEEKLY_GOAL_MAX", default=200)
# Deliveries per Celery send task (one SMTP connection each). Each chunk costs its facts'
# queries and a connection whatever its size: 500 sends at 0.54-0.62 ms of CPU an email
# where 200 took 0.68-0.71 (bench/RESULTS.md, "Reminders").
REMINDERS_SEND_CHUNK_SIZE = env.int("REMINDERS_SEND_CHUNK_SIZE", default=500)
REMINDERS_SEND_MAX_ATTEMPTS = env.int("REMINDERS_SEND_MAX_ATTEMPTS", default=4)
# Retry n waits BACKOFF * 2**(n-1) seconds, capped.
REMINDERS_SEND_BACKOFF_SECONDS = env.float("REMINDERS_SEND_BACKOFF_SECONDS", default=60.0)
REMINDERS_SEND_BACKOFF_MAX_SECONDS = env.float("REMINDERS_SEND_BACKOFF_MAX_SECONDS", default=3600.0)
# How long a send task's claim on its deliveries lasts. The task sends for at most half of it
# (then hands the rest back); a delivery still "sending" after it was left by a lost worker
# and is sent again (at most the one message in flight then goes out twice). It must be longer
# than the send task's hard time limit, CELERY_TASK_TIME_LIMIT (system check reminders.E002).
REMINDERS_SENDING_STALE_MINUTES = env.float("REMINDERS_SENDING_STALE_MINUTES", default=30.0)
# Each email is recorded sent, committed, as soon as the mail server accepts it. On PostgreSQL
# that commit does not wait for the disk unless this is true: a killed worker loses none of
# them either way; only a database server crash could lose the last fraction of a second.
REMINDERS_SENT_COMMIT_DURABLE = env.bool("REMINDERS_SENT_COMMIT_DURABLE", default=False)
# A delivery still "pending" this long after it was created or last handed to a send task lost
# its task (not enqueued, or a worker died before enqueueing the retry): the beat hands it out
# again. Keep it above the backoff cap so a retry waiting for its turn is left alone.
REMINDERS_PENDING_RESEND_MINUTES = env.int("REMINDERS_PENDING_RESEND_MINUTES", default=90)
# Each beat run also decides this many earlier windows, in case a run was late or missed.
REMINDERS_CATCH_UP_WINDOWS = env.int("REMINDERS_CATCH_UP_WINDOWS", default=1)
# Rows per batch when recomputing usual study hours.
REMINDERS_USUAL_HOUR_BATCH_SIZE = env.int("REMINDERS_USUAL_HOUR_BATCH_SIZE", default=2000)
# Days of activity read to compute the streak shown in an email.
REMINDERS_STREAK_LOOKBACK_DAYS = env.int("REMINDERS_STREAK_LOOKBACK_DAYS", default=120)
# Unsubscribe and keep-on links work without logging in for this long.
REMINDERS_TOKEN_MAX_AGE_DAYS = env.int("REMINDERS_TOKEN_MAX_AGE_DAYS", default=60)
REMINDERS_UNSUBSCRIBE_MAILTO = env(
    "REMINDERS_UNSUBSCRIBE_MAILTO", default="unsubscribe@stepwise.localhost"
)
REMINDERS_FROM_EMAIL = env("REMINDERS_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- REST API ---------------------------------------------------------------
# The API speaks JSON only; one exception handler gives every 4xx the documented shape.
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # allauth's X-Session-Token, answering 401 (not 403) when a token is missing or stale.
        "apps.core.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.json_guard.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.api.throttles.AnonThrottle",
        "apps.core.api.throttles.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="120/min"),
        "user": env("API_THROTTLE_USER", default="1200/min"),
        # Each sync may carry hundreds of changes: fewer calls allowed.
        "sync": env("API_THROTTLE_SYNC", default="30/min"),
    },
    "NUM_PROXIES": env.int("API_NUM_PROXIES", default=0),
}
# allauth's sign-in and sign-up limits count clients by the same address: behind nginx,
# without this every learner would share the proxy's address and so one limit.
ALLAUTH_TRUSTED_PROXY_COUNT = REST_FRAMEWORK["NUM_PROXIES"]
SPECTACULAR_SETTINGS = {
    "TITLE": "Stepwise API",
    "DESCRIPTION": (
        "Tracks, steps and a learner's progress, for Stepwise's mobile apps.\n\n"
        "**Signing in** (sign-up, email verification, login, logout, password reset, "
        "reauthentication) is allauth headless's API for apps, under `/_allauth/app/v1/`: "
        "[its reference](/api/docs/auth/), [its OpenAPI document](/_allauth/openapi.json). "
        "It returns a session token: send it here as the `X-Session-Token` header.\n\n"
        "**Caching**: answers about the learner say `Cache-Control: private, no-store`; "
        "track answers carry an `ETag` (send `If-None-Match` for a 304).\n\n"
        "**Rates**: answers carry the IETF `RateLimit-Limit`, `RateLimit-Remaining`, "
        "`RateLimit-Reset` and `RateLimit-Policy` fields; past the limit, 429 with "
        "`Retry-After`.\n\n"
        "**Paths** end with a slash; without it, 404 names the right one."
    ),
    "SERVERS": [{"url": "/", "description": "The Stepwise server that serves this document."}],
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.api.schema.collapse_blank_string_alternatives",
        "apps.core.api.schema.nullable_references_as_alternatives",
        "apps.core.api.schema.document_operations",
        "apps.progress.schema.progress_links",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "ENUM_NAME_OVERRIDES": {"StepStatusEnum": "apps.progress.models.Status"},
}
# CORS, for apps that run in a browser on another origin: off until origins are listed
# (scheme://host[:port], comma-separated). Only the API and allauth's endpoints answer it.
# No cookies cross origins: such an app signs in with the X-Session-Token, like a phone.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(?:api/v1|_allauth)/"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (
    *corsheaders_defaults.default_headers,
    "x-session-token",
    "if-none-match",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = [
    "ETag",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
    "X-Request-ID",
]
# How long a browser may reuse a preflight's answer.
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=86400)
# Where the REST API is mounted (config/urls.py): its answers get its headers.
API_PATH_PREFIX = "/api/v1/"
# Larger request bodies are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
# JSON bodies nested deeper are refused with 400 (Python's parser recurses once per level).
JSON_BODY_MAX_DEPTH = env.int("JSON_BODY_MAX_DEPTH", default=100)
API_TRACKS_PAGE_SIZE = env.int("API_TRACKS_PAGE_SIZE", default=20)
API_TRACKS_MAX_PAGE_SIZE = env.int("API_TRACKS_MAX_PAGE_SIZE", default=100)
API_SEARCH_MAX_LENGTH = env.int("API_SEARCH_MAX_LENGTH", default=100)
# A track's steps and resources, serialized once per content revision (seconds kept).
API_TRACK_STEPS_CACHE_SECONDS = env.int("API_TRACK_STEPS_CACHE_SECONDS", default=3600)
# Operations one offline sync may carry, and changes one pull returns at most.
API_SYNC_MAX_OPERATIONS = env.int("API_SYNC_MAX_OPERATIONS", default=500)
API_CHANGES_PAGE_SIZE = env.int("API_CHANGES_PAGE_SIZE", default=500)
# Step status changes a learner may make from the web per minute (the API has its own).
STEPWISE_WEB_STATUS_CHANGES_PER_MINUTE = env.int(
    "STEPWISE_WEB_STATUS_CHANGES_PER_MINUTE", default=60
)

# --- public page, calendar feed, what changed ------------------------------------------
# Changes listed on a track page under "What changed since your last visit" (all counted).
STEPWISE_CHANGELOG_ITEMS = env.int("STEPWISE_CHANGELOG_ITEMS", default=20)
# Tracks a learner's public page may show (each is drawn as a map: 5 queries when not cached).
STEPWISE_PUBLIC_PAGE_TRACKS = env.int("STEPWISE_PUBLIC_PAGE_TRACKS", default=6)
# A learner's calendar feed: how many upcoming steps it holds, the weeks of history their
# own pace is measured over, and the pace assumed (steps a week) with neither a weekly
# goal nor a step finished in those weeks.
STEPWISE_CALENDAR_EVENTS = env.int("STEPWISE_CALENDAR_EVENTS", default=30)
STEPWISE_CALENDAR_PACE_WEEKS = env.int("STEPWISE_CALENDAR_PACE_WEEKS", default=4)
STEPWISE_CALENDAR_DEFAULT_STEPS_PER_WEEK = env.int(
    "STEPWISE_CALENDAR_DEFAULT_STEPS_PER_WEEK", default=2
)

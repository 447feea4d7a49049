"""Production: everything that differs comes from the environment.

Stepwise refuses to start here, naming the variable, when a setting that keeps it safe is
missing or unsafe: a guessable secret, no host list, no public origin or no shared cache.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CACHES, LOGGING, REDIS_URL, SITE_URL, env


def _refuse(variable: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"{variable} {problem}. Stepwise will not start in production without it "
        "(see .env.example)."
    )


DEBUG = False

SECRET_KEY = env("SECRET_KEY", default="")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure"):
    raise _refuse(
        "SECRET_KEY",
        "must be set to a random value of at least 50 characters (for example the output of "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))')",
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise _refuse("ALLOWED_HOSTS", "must list the host names the site answers to")

_site = urlsplit(SITE_URL)
if "SITE_URL" not in env.ENVIRON or _site.scheme not in {"http", "https"} or not _site.hostname:
    raise _refuse("SITE_URL", "must be the site's public origin, e.g. https://stepwise.example.org")
if _site.hostname in {"127.0.0.1", "localhost", "::1"} and not env.bool(
    "SITE_URL_ALLOW_LOCAL", default=False
):
    raise _refuse("SITE_URL", f"points at this machine ({SITE_URL}), not at a public origin")

# Rate limits must mean the same with one worker or sixteen: a per-process cache would not.
if not REDIS_URL or CACHES["default"]["BACKEND"] != "apps.core.cache.ResilientRedisCache":
    raise _refuse("REDIS_URL", "must point at the Redis shared by every web process")

CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=[f"{_site.scheme}://{_site.netloc}"]
)

# TLS ends at the proxy, which says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The proxy may check /healthz and /readyz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
if not SECURE_HSTS_PRELOAD:
    # Preloading is a promise to browsers that is slow to take back: an operator may decline.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed copies made by collectstatic; WhiteNoise serves them cached for a year.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # type: ignore[index]

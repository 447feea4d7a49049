import logging
import sys
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache

from apps.core.api.errors import error_body
from apps.core.json_guard import headless_error

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before retrying a 503.
RETRY_AFTER_SECONDS = 5


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up. It asks nothing of the database or Redis."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # the shared Redis cache: ask Redis itself, not the fallback
        ping()
        return
    cache.set("readyz", "ok", 5)
    if cache.get("readyz") != "ok":
        raise RuntimeError("the cache did not keep a value")


def _check_broker() -> None:
    if current_app.conf.task_always_eager:
        return  # tasks run in-process: there is no broker to ask
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.READYZ_TIMEOUT_SECONDS)


_CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
}


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database, the cache and the broker each answer; 503 when one does not.

    Each check reports ``ok`` and its latency in milliseconds, or the error it met.
    """
    checks = {}
    for name, check in _CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready", and says why
            logger.warning("readyz: %s check failed: %s", name, exc)
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        else:
            checks[name] = {"ok": True}
        checks[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's last resort for an uncaught exception.

    A database that is restarting or unreachable is an outage, not a bug: the client gets
    a 503 with Retry-After (JSON on the API, a page on the web) and may simply retry.
    Anything else is a 500, in the same two shapes.
    """
    exc = sys.exc_info()[1]
    # OperationalError and InterfaceError are how drivers say the server went away.
    unavailable = isinstance(exc, OperationalError | InterfaceError)
    status = 503 if unavailable else 500
    if unavailable:
        code, message = "unavailable", "Stepwise is briefly unavailable. Please retry shortly."
    else:
        code, message = "server_error", "Something went wrong on our side. Please retry."
    response: HttpResponse
    if request.path.startswith("/_allauth/"):
        response = headless_error(status, code, message)
    elif _wants_json(request):
        response = JsonResponse(error_body(code, message), status=status)
    else:
        response = HttpResponse(
            render_to_string("5xx.html", {"status": status, "message": message}),
            status=status,
        )
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

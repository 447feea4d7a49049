"""One spelling per link, so the same resource is never stored twice."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from apps.core.errors import ApplicationError

# Query parameters that only tell an analytics tool where a click came from.
TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc"}
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMETERS


def url_normalize(url: str) -> str:
    """Return the canonical spelling of an http(s) URL.

    Lower-cases scheme and host, drops the default port, the trailing slash of
    the path and tracking parameters (``utm_*``, ``fbclid``...). The fragment is
    kept: it can point at a chapter of a long page.
    """
    raw = (url or "").strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ApplicationError(f"{raw!r} is not a valid URL: {exc}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ApplicationError(f"{raw!r} is not an http or https URL.")
    host = (parts.hostname or "").lower()
    if not host:
        raise ApplicationError(f"{raw!r} has no host name.")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        raise ApplicationError(f"{raw!r} carries credentials; links must not.")
    path = parts.path.rstrip("/")
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    )
    return urlunsplit((scheme, netloc, path, query, parts.fragment))

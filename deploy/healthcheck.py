"""The web container's health check: exit 0 when this container's gunicorn answers /healthz.

The Dockerfile's HEALTHCHECK and compose run it. It asks for the site's public host name
(from SITE_URL), so that Django's ALLOWED_HOSTS lets the request through, on the port
gunicorn binds (GUNICORN_BIND or PORT, as gunicorn.conf.py reads them).
"""

import http.client
import os
import sys
from urllib.parse import urlsplit


def main() -> int:
    bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
    port = int(bind.rsplit(":", 1)[1])
    host = urlsplit(os.environ.get("SITE_URL", "")).hostname or "localhost"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz", headers={"Host": host})
        status = conn.getresponse().status
    except OSError as exc:
        print(f"/healthz: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if status != 200:
        print(f"/healthz answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

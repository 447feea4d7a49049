"""gunicorn's settings for Stepwise's web processes.

gunicorn reads this file from the working directory; the Dockerfile and compose also pass
it explicitly (``gunicorn -c gunicorn.conf.py config.wsgi:application``). Every knob is an
environment variable, so a deployment changes numbers, not this file.

Slow clients are the proxy's to absorb: nginx (deploy/nginx/) reads whole requests before it
passes them on. gunicorn 27 has no header read timeout (its threaded worker parks a
connection that sends nothing for 5 s, but once the first byte is in, a thread reads the
headers until they end), so a client that trickles its headers holds whatever reads them.
The sync worker gives each process one such slot (12 trickling clients took the site down);
the threaded worker gives each process ``threads`` of them while idle and kept-alive
connections wait in its poller, so a handful of slow clients cannot take every thread even
without the proxy.
"""

import os


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


# Where to listen: GUNICORN_BIND wins; otherwise every interface on PORT.
bind = [_env("GUNICORN_BIND", f"0.0.0.0:{_env('PORT', '8000')}")]

# Processes times threads is how many requests run at once. Each thread may keep a
# PostgreSQL connection open (CONN_MAX_AGE): keep WEB_CONCURRENCY x GUNICORN_THREADS, summed
# over every web machine, below the database's max_connections (or pool with PgBouncer).
worker_class = "gthread"
workers = _env_int("WEB_CONCURRENCY", 2)
threads = _env_int("GUNICORN_THREADS", 24)

# A worker silent this long is restarted; on a restart or a stop, requests in flight get
# graceful_timeout seconds to finish.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Longer than nginx keeps an idle upstream connection (deploy/nginx/stepwise.conf), so nginx
# never sends a request on a connection gunicorn is closing.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)

# Request size limits: nginx enforces its own first; these hold when gunicorn faces clients.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Peers whose X-Forwarded-Proto gunicorn believes. Only nginx can reach gunicorn in compose,
# which sets "*" there; Django reads the header itself (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access log on stdout with the request id Django answers with (the one in its own logs).
accesslog = "-"
errorlog = "-"
loglevel = _env("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'

proc_name = "stepwise"
# The workers' heartbeat files on a memory file system: a slow disk cannot stall them.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# One gunicorn per container, managed by signals; no control socket shared across processes.
control_socket_disable = True

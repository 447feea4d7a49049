"""Stepwise as an operator runs it, for tests: gunicorn, production settings, real services.

``production_server`` starts gunicorn from the repository's gunicorn.conf.py with
``config.settings.production`` on a free loopback port, on the test database (so a test
using it needs ``transaction=True``) and a Redis the caller names. Static files are
collected once per session into a temporary folder, as the image build does.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings

from tests.celery_worker import shared_database_url

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
# 50+ characters, made per run: production refuses anything shorter.
SECRET = "production-test-" + os.urandom(32).hex()
_STATIC_ROOT: Path | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production process on this machine (loopback only)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "API_THROTTLE"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": "https://stepwise.example.org",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": shared_database_url(),
            "CONN_MAX_AGE": "60",
            "LOG_LEVEL": "INFO",
            "STATIC_ROOT": str(collected_static()),
        }
    )
    env.update(overrides)
    return env


def collected_static() -> Path:
    """``collectstatic`` under production settings, once per test session."""
    global _STATIC_ROOT
    if _STATIC_ROOT is None:
        root = Path(tempfile.mkdtemp(prefix="stepwise-static-"))
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": "https://stepwise.example.org",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "STATIC_ROOT": str(root),
        }
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        _STATIC_ROOT = root
    return _STATIC_ROOT


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, object] = field(default_factory=dict)

    def client(self, **kwargs: object) -> httpx.Client:
        """A client of plain HTTP that still returns the Secure cookies production sets,
        as a browser would over the TLS that the proxy ends."""
        client = httpx.Client(base_url=self.url, timeout=10, **kwargs)  # type: ignore[arg-type]

        def send_every_cookie(request: httpx.Request) -> None:
            cookies = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
            if cookies:
                request.headers["Cookie"] = cookies

        client.event_hooks["request"] = [send_every_cookie]
        return client

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for_http(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@contextmanager
def production_server(*, redis_url: str, **env: str) -> Iterator[Server]:
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="stepwise-gunicorn-", suffix=".log")[1])
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "config.wsgi:application"],
            cwd=ROOT,
            env=production_env(REDIS_URL=redis_url, GUNICORN_BIND=f"127.0.0.1:{port}", **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        wait_for_http(f"{server.url}/healthz", process)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def own_redis() -> Iterator["OwnRedis"]:
    """A redis-server of the test's own on a free port, to stop and start at will."""
    redis = OwnRedis(port=free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@dataclass
class OwnRedis:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        self.process = subprocess.Popen(  # noqa: S603 - the machine's redis-server
            [binary, *arguments, "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

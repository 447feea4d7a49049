"""Stepwise as an operator runs it, for benchmarks: gunicorn from gunicorn.conf.py under
production settings, a Celery worker, the outbox relay and a redis-server of the bench's own.

The ideas of tests/production.py, without pytest: every process gets its own session (so
stopping it stops its children), its output in a log file, and only loopback addresses.
"""

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# A public origin, as production insists; the bench talks to gunicorn on loopback.
SITE_URL = "https://stepwise.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def secret_key() -> str:
    """A fresh secret of the length production requires (50 characters or more)."""
    return "bench-" + secrets.token_urlsafe(48)


def production_env(*, redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a production process on this machine: plain HTTP on loopback,
    so no redirect to HTTPS; Secure cookies still (clients must send them back themselves)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "API_THROTTLE"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secret_key(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": SITE_URL,
            "SECURE_SSL_REDIRECT": "false",
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(overrides)
    return env


def collectstatic(env: dict[str, str], root: Path) -> Path:
    """``collectstatic`` under production settings into ``root``, as the image build does.

    Compressing every file takes minutes on a busy 2-core machine, and collectstatic does
    it again for unchanged files: it is skipped when ``root`` holds the same sources.
    """
    fingerprint = _static_sources_digest()
    stamp = root / ".sources"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return root
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env={**env, "STATIC_ROOT": str(root)},
        check=True,
    )
    stamp.write_text(fingerprint)
    return root


def _static_sources_digest() -> str:
    """A digest of every file the static finders would collect, names and contents (in this
    process, which must have Django set up with the same settings as the server)."""
    from django.contrib.staticfiles import finders

    digest = hashlib.sha256()
    for finder in finders.get_finders():
        for path, storage in sorted(finder.list([]), key=lambda item: item[0]):
            digest.update(path.encode())
            with storage.open(path) as source:
                digest.update(hashlib.sha256(source.read()).digest())
    return digest.hexdigest()


@dataclass
class Process:
    """A background process in its own session, its output in ``log_path``."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, name: str, args: list[str], env: dict[str, str]) -> "Process":
        log_path = Path(tempfile.mkstemp(prefix=f"stepwise-bench-{name}-", suffix=".log")[1])
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name=name, process=process, log_path=log_path)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the process and its live children so far."""
        import psutil

        try:
            root = psutil.Process(self.process.pid)
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for member in family:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self, seconds: float = 15) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wait_for_http(url: str, process: Process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.process.poll() is not None:
            raise SystemExit(f"{process.name} exited:\n{process.log[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def gunicorn(env: dict[str, str], port: int) -> Process:
    """gunicorn from the repository's gunicorn.conf.py, answering /healthz on ``port``."""
    server = Process.start(
        "gunicorn",
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "config.wsgi:application"],
        {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
    except BaseException:
        server.stop()  # it may be up but failing: leave nothing running
        raise
    return server


def celery_worker(env: dict[str, str], concurrency: int) -> Process:
    return Process.start(
        "worker",
        [
            str(BIN / "celery"),
            "-A",
            "config.celery_app",
            "worker",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=warning",
        ],
        env,
    )


def outbox_relay(env: dict[str, str], interval: float) -> Process:
    """``manage.py relay_outbox``: what beat's relay task does, every ``interval`` seconds."""
    return Process.start(
        "relay",
        [sys.executable, "manage.py", "relay_outbox", "--interval", str(interval)],
        env,
    )


@dataclass
class OwnRedis:
    """A redis-server of the bench's own on a free loopback port, to stop and start at will.

    It snapshots as a stock Redis does and saves on a clean stop, so a restart brings back
    what was queued, as the compose file's Redis (with its volume) would.
    """

    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-redis-")))
    process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        arguments += ["--save", "3600 1 300 100 60 10000", "--appendonly", "no"]
        self.process = subprocess.Popen(
            ["/usr/bin/redis-server", *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.RedisError:  # still loading its snapshot, or not listening yet
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def freeze(self) -> None:
        """Connections stay open but nothing answers, as with a hung server or a lost network."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """A clean stop (SIGTERM): redis-server saves its snapshot first."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server could not stop
            self.process.terminate()
            self.process.wait(30)
        self.process = None

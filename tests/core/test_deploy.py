"""Deployment as an operator runs it: gunicorn's settings, the nginx proxy, compose and
.env.example.

The slow-client tests start the real gunicorn (and nginx) on free loopback ports, open 12
connections that trickle their headers one byte a second, as the clients that once took the
site down did, and check that /healthz still answers meanwhile.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SLOW_CLIENTS = 12
# Generous: /healthz answers in milliseconds when a thread is free, never when none is.
ANSWER_WITHIN_SECONDS = 1.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if _get(port, "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer /healthz within 30 s:\n{log.read_text()}")


@contextmanager
def _running(command: list[str], *, env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own servers, fixed arguments
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_serving(port, process, log)
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """gunicorn started from the repository's gunicorn.conf.py, as the image starts it."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    log = tmp_path_factory.mktemp("gunicorn") / "log"
    with _running([*command, "config.wsgi:application"], env=env, port=port, log=log):
        yield port


@contextmanager
def _trickling_clients(port: int) -> Iterator[None]:
    """12 clients that send a request line, then one header byte a second, never ending."""
    clients = []
    for _ in range(SLOW_CLIENTS):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        clients.append(client)
    stop = threading.Event()

    def trickle() -> None:
        header = b"X-Slow: " + b"a" * 10_000
        for byte in header:
            if stop.wait(1.0):
                return
            for client in clients:
                # The server may give up on a slow client, which is fine.
                with suppress(OSError):
                    client.sendall(bytes([byte]))

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        time.sleep(1.5)  # every slow client is now being read by the server
        yield
    finally:
        stop.set()
        trickler.join()
        for client in clients:
            client.close()


def _assert_healthz_answers_while_clients_trickle(port: int) -> None:
    with _trickling_clients(port):
        # Several fresh connections, so each gunicorn process gets asked.
        for attempt in range(6):
            try:
                status, body = _get(port, "/healthz", timeout=ANSWER_WITHIN_SECONDS)
            except TimeoutError:
                pytest.fail(
                    f"/healthz (attempt {attempt + 1}) did not answer within "
                    f"{ANSWER_WITHIN_SECONDS} s while {SLOW_CLIENTS} clients trickled headers"
                )
            assert status == 200, body
            time.sleep(0.2)


def test_gunicorn_answers_while_slow_clients_trickle_headers(gunicorn_port):
    _assert_healthz_answers_while_clients_trickle(gunicorn_port)


@pytest.mark.parametrize(("serving", "exit_code"), [(True, 0), (False, 1)])
def test_container_health_check_asks_gunicorn_for_healthz(gunicorn_port, serving, exit_code):
    port = gunicorn_port if serving else _free_port()
    env = {**os.environ, "GUNICORN_BIND": f"0.0.0.0:{port}", "SITE_URL": "https://localhost"}
    check = subprocess.run(
        [sys.executable, "deploy/healthcheck.py"], cwd=ROOT, env=env, capture_output=True
    )
    assert check.returncode == exit_code, check.stderr


# --- the image -----------------------------------------------------------------------------


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_image_runs_gunicorn_from_its_config_file_as_a_user_with_a_health_check():
    dockerfile = _dockerfile()
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi:application"]' in dockerfile
    assert "HEALTHCHECK" in dockerfile and "deploy/healthcheck.py" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}


def test_image_build_collects_static_files_under_production_settings(tmp_path):
    # The build's own command line, run here as the build runs it (into a scratch folder).
    build = re.search(r"(DJANGO_SETTINGS_MODULE=.*?collectstatic --no-input)", _dockerfile(), re.S)
    assert build, "the Dockerfile no longer runs collectstatic"
    command = build.group(1).replace("\\\n", " ").replace("python ", f"{sys.executable} ")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    result = subprocess.run(  # noqa: S603 - the Dockerfile's own command
        ["/bin/sh", "-c", command],
        cwd=ROOT,
        env={**env, "STATIC_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "staticfiles.json").exists()

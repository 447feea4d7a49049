"""PostgreSQL restarted under a serving Stepwise: 503s that say so, never a 500, and recovery.

The test runs a PostgreSQL cluster of its own (initdb on a free port), never the shared one.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import _need, redis_url
from tests.production import ROOT, free_port, production_env, production_server

pytestmark = [pytest.mark.redis]


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1] or None


class OwnPostgres:
    def __init__(self, root: Path, port: int) -> None:
        self.data = root / "data"
        self.port = port
        self.url = f"postgres://postgres@127.0.0.1:{port}/stepwise"

    def _run(self, *command: str) -> None:
        # initdb and the server refuse to run as root: run them as the postgres user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(  # noqa: S603 - the machine's PostgreSQL tools, fixed arguments
            [*prefix, *command], check=True, capture_output=True, timeout=120
        )

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(_pg_bin("pg_ctl")), "-D", str(self.data), "-o", options, "-w", action, *extra)

    def init(self) -> None:
        self._run(str(_pg_bin("initdb")), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()
        self._run(
            str(_pg_bin("createdb")), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "stepwise",
        )  # fmt: skip

    @property
    def _log(self) -> str:
        # The server's output goes to a file: were it left on our pipe, no call would return.
        return str(self.data.parent / "postgres.log")

    def start(self) -> None:
        self._ctl("start", "-l", self._log)

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast", "-l", self._log)


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    _need("PostgreSQL's initdb", _pg_bin("initdb") is not None)
    root = Path(tempfile.mkdtemp(prefix="stepwise-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    cluster = OwnPostgres(root, free_port())
    cluster.init()
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def stack():
    with own_postgres() as cluster:
        env = production_env(DATABASE_URL=cluster.url, REDIS_URL=redis_url(13))
        for command in (["migrate", "--no-input", "-v", "0"], ["load_roadmaps"]):
            subprocess.run(  # noqa: S603 - our own manage.py
                [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                capture_output=True, timeout=300,
            )  # fmt: skip
        # The askers below exceed the anonymous API limit on purpose: lift it here.
        with production_server(
            redis_url=redis_url(13),
            DATABASE_URL=cluster.url,
            API_THROTTLE_ANON="100000/min",
        ) as server:
            yield cluster, server


def test_database_down_answers_503_json_on_the_api_and_a_page_on_the_web(stack):
    cluster, server = stack
    assert httpx.get(f"{server.url}/api/v1/tracks/").status_code == 200

    cluster.stop()
    try:
        api = httpx.get(f"{server.url}/api/v1/tracks/")
        web = httpx.get(f"{server.url}/tracks/")
        ready = httpx.get(f"{server.url}/readyz")
        alive = httpx.get(f"{server.url}/healthz")
    finally:
        cluster.start()

    assert api.status_code == 503
    assert api.headers["Content-Type"] == "application/json"
    assert api.json()["error"]["code"] == "unavailable"
    assert api.headers["Retry-After"]
    assert web.status_code == 503
    assert "text/html" in web.headers["Content-Type"]
    assert "briefly unavailable" in web.text
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["ok"] is False
    assert alive.status_code == 200
    # And once PostgreSQL is back, the same processes answer again by themselves
    assert httpx.get(f"{server.url}/api/v1/tracks/").status_code == 200
    assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_restart_while_serving_answers_no_500_and_recovers(stack):
    cluster, server = stack
    statuses: list[tuple[str, int]] = []
    stop = threading.Event()

    def keep_asking(path: str) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                try:
                    statuses.append((path, client.get(path).status_code))
                except httpx.HTTPError:
                    statuses.append((path, 0))

    askers = [
        threading.Thread(target=keep_asking, args=(path,))
        for path in ("/api/v1/tracks/", "/tracks/", "/api/v1/tracks/", "/tracks/")
    ]
    for asker in askers:
        asker.start()
    time.sleep(1)
    cluster.restart()
    time.sleep(2)
    stop.set()
    for asker in askers:
        asker.join(15)

    assert statuses
    assert {status for _, status in statuses} <= {200, 503}, sorted(set(statuses))
    for path in ("/api/v1/tracks/", "/tracks/"):
        assert httpx.get(f"{server.url}{path}").status_code == 200

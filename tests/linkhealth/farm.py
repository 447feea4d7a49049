"""A local HTTP server for link checks: routes answer as told and everything is counted."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"<html><title>A page</title><p>Hello</p></html>"
    delay: float = 0.0
    #: Send this many bytes of body (declared in Content-Length), chunk by chunk.
    stream_bytes: int = 0
    #: Gzip the body: "if-accepted" (when Accept-Encoding allows gzip) or "always".
    gzip: str = ""
    #: A slow-loris: send the whole answer, status line and headers included, one byte
    #: every this many seconds.
    drip: float = 0.0


Route = Reply | list[Reply] | Callable[[str, str], Reply]


class Farm:
    """Start with ``Farm().start()``; add routes with ``farm.route(path, ...)``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        #: Any 127.x.y.z works on Linux, where the whole of 127.0.0.0/8 is loopback.
        self.host = host
        self.routes: dict[str, Route] = {}
        self.hits: Counter[tuple[str, str]] = Counter()
        self.active = 0
        self.max_active = 0
        self.connections = 0
        self.max_connections = 0
        self.opened = 0
        self.bytes_sent: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def route(self, path: str, *replies: Reply, **reply: Any) -> str:
        if replies:
            self.routes[path] = list(replies) if len(replies) > 1 else replies[0]
        else:
            self.routes[path] = Reply(**reply)
        return self.url(path)

    def url(self, path: str) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.server_address[1]}{path}"

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no handler is answering: the server side of a hang-up has run."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.active == 0:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.active} request(s) still being answered")
            time.sleep(0.01)

    def hit_count(self, path: str) -> int:
        return sum(n for (_, p), n in self.hits.items() if p == path)

    def _reply_for(self, method: str, target: str) -> Reply:
        path = urlsplit(target).path
        route = self.routes.get(target, self.routes.get(path))
        with self.lock:
            self.hits[(method, path)] += 1
            count = sum(n for (_, p), n in self.hits.items() if p == path)
        if route is None:
            return Reply(status=404, body=b"<html><title>Not found</title></html>")
        if isinstance(route, list):
            return route[min(count, len(route)) - 1]
        if callable(route):
            return route(method, target)
        return route

    def start(self) -> Farm:
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with farm.lock:
                    farm.connections += 1
                    farm.opened += 1
                    farm.max_connections = max(farm.max_connections, farm.connections)

            def finish(self) -> None:
                with farm.lock:
                    farm.connections -= 1
                with contextlib.suppress(OSError):
                    super().finish()

            def do_HEAD(self) -> None:
                self._answer("HEAD")

            def do_GET(self) -> None:
                self._answer("GET")

            def _answer(self, method: str) -> None:
                with farm.lock:
                    farm.active += 1
                    farm.max_active = max(farm.max_active, farm.active)
                try:
                    reply = farm._reply_for(method, self.path)
                    if reply.delay:
                        time.sleep(reply.delay)
                    accepted = self.headers.get("Accept-Encoding", "").lower()
                    if reply.gzip == "always" or (reply.gzip and "gzip" in accepted):
                        reply = replace(
                            reply,
                            body=gzip.compress(reply.body),
                            headers={**reply.headers, "Content-Encoding": "gzip"},
                        )
                    if reply.drip:
                        self._drip(reply)
                        return
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    size = reply.stream_bytes or len(reply.body)
                    self.send_header("Content-Length", str(size))
                    if "Content-Type" not in reply.headers:
                        self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.end_headers()
                    if method == "GET":
                        self._body(reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    with farm.lock:
                        farm.active -= 1

            def _drip(self, reply: Reply) -> None:
                self.close_connection = True
                head = f"HTTP/1.1 {reply.status} OK\r\nContent-Length: {len(reply.body)}\r\n\r\n"
                for byte in head.encode() + reply.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(reply.drip)

            def _body(self, reply: Reply) -> None:
                if not reply.stream_bytes:
                    self.wfile.write(reply.body)
                    return
                chunk = b"x" * 65536
                sent = 0
                try:
                    while sent < reply.stream_bytes:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                        farm.bytes_sent[self.path] = sent
                finally:
                    farm.bytes_sent[self.path] = sent
                    self.close_connection = True

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

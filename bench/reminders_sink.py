"""An SMTP sink for the reminders benchmark: aiosmtpd's Sink handler (accepts, discards).

Several processes can share one port (SO_REUSEPORT), the way a real relay spreads load:
    python bench/reminders_sink.py PORT
"""

import signal
import socket
import sys
import threading
from collections.abc import Awaitable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink


class SharedPortController(Controller):
    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, reuse_port=True
        )

    def _trigger_server(self) -> None:
        # The kernel may hand the readiness probe to a sibling process: probe until this
        # process has answered one.
        for _ in range(100):
            with socket.create_connection((self.hostname, self.port), 1.0) as probe:
                probe.recv(1024)
            if self._factory_invoked.wait(0.05):
                return


def main() -> None:
    controller = SharedPortController(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

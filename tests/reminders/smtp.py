"""A real SMTP server on a free local port (aiosmtpd), for the reminder tests and benchmark."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Recorder:
    """Keeps every message it accepts; refuses recipients listed in ``refuse``."""

    keep: bool = True
    refuse: set[str] = field(default_factory=set)
    messages: list[Message] = field(default_factory=list)
    connections: int = 0
    received: int = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received += 1
        if self.keep:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@contextmanager
def smtp_server(recorder: Recorder) -> Iterator[int]:
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()

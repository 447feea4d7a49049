import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.mail import EmailMessage
from django.test import override_settings

from apps.core.mail import messages_send


@contextmanager
def mail_server_hanging_up() -> Iterator[list[int]]:
    """A local port that accepts connections and closes them before any greeting."""
    accepted: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            client.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=listener.getsockname()[1],
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_TIMEOUT=5,
        ):
            yield accepted
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_mail_server_that_cannot_be_reached_fails_every_message_after_one_try():
    messages = [EmailMessage("Hi", "Body", to=[f"learner{n}@example.org"]) for n in range(3)]

    with mail_server_hanging_up() as accepted:
        results = messages_send(messages)

    assert [message for message, _ in results] == messages
    assert {type(error).__name__ for _, error in results} == {"SMTPServerDisconnected"}
    # One connection for the batch, not one more per message.
    assert len(accepted) == 1

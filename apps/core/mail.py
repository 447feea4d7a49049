"""Sending a batch of emails: one connection, each message on its own."""

import contextlib
from collections.abc import Callable, Generator, Sequence

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMessage, get_connection

SendResult = tuple[EmailMessage, Exception | None]


def messages_send(messages: Sequence[EmailMessage]) -> list[SendResult]:
    """Send the messages over one connection; each comes back with what stopped it, or None.

    One refused address or one dropped send fails its message only: the rest are still
    tried. A connection that cannot be opened fails every message with its error. When
    the task runs out of time (Celery's soft limit), the message being sent and those
    after it fail with that error, unsent, so the caller can record them and hand them
    back rather than leave them half done.
    """
    return list(messages_send_each(messages))


def messages_send_each(
    messages: Sequence[EmailMessage], *, until: Callable[[], bool] | None = None
) -> Generator[SendResult, None, None]:
    """``messages_send``, one result at a time: each message is yielded as soon as the server
    answered it, before the next one is sent, so the caller can record it first.

    The next message is only sent while ``until()`` is true. Closing the generator early
    (or ``until()`` turning false) quits the connection and sends nothing more.
    """
    if not messages:
        return
    try:
        connection = get_connection()
        connection.open()
    except Exception as exc:
        for message in messages:
            yield message, exc
        return
    try:
        for index, message in enumerate(messages):
            if until is not None and not until():
                return
            try:
                connection.send_messages([message])
            except SoftTimeLimitExceeded as exc:
                for rest in messages[index:]:
                    yield rest, exc
                return
            except Exception as exc:
                yield message, exc
            else:
                yield message, None
    finally:
        # A failed QUIT does not unsend anything.
        with contextlib.suppress(Exception):
            connection.close()

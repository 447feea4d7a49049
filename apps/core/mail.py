"""Sending a batch of emails: one connection, each message on its own."""

import contextlib
from collections.abc import Sequence

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMessage, get_connection


def messages_send(
    messages: Sequence[EmailMessage],
) -> list[tuple[EmailMessage, Exception | None]]:
    """Send the messages over one connection; each comes back with what stopped it, or None.

    One refused address or one dropped send fails its message only: the rest are still
    tried. A connection that cannot be opened fails every message with its error. When
    the task runs out of time (Celery's soft limit), the message being sent and those
    after it fail with that error, unsent, so the caller can record them and hand them
    back rather than leave them half done.
    """
    if not messages:
        return []
    try:
        connection = get_connection()
        connection.open()
    except Exception as exc:
        return [(message, exc) for message in messages]
    results: list[tuple[EmailMessage, Exception | None]] = []
    try:
        for index, message in enumerate(messages):
            try:
                connection.send_messages([message])
            except SoftTimeLimitExceeded as exc:
                results += [(rest, exc) for rest in messages[index:]]
                break
            except Exception as exc:
                results.append((message, exc))
            else:
                results.append((message, None))
    finally:
        # A failed QUIT does not unsend anything.
        with contextlib.suppress(Exception):
            connection.close()
    return results

"""Sending a batch of emails: one connection, each message on its own."""

import contextlib
import functools
import re
import smtplib
from collections.abc import Callable, Generator, Sequence
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

SendResult = tuple[EmailMessage, Exception | None]

# An address made of dot-separated atoms of these characters, at a host name of ASCII
# labels: ``sanitize_address`` gives it back unchanged (no display name, nothing to
# encode, nothing to quote, punycode leaves ASCII labels as they are), and smtplib's
# ``quoteaddr`` only puts it in angle brackets. Parsing it costs more than sending it.
_ATOM = r"[A-Za-z0-9_+-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")


def address_sanitize(address: Any, encoding: str) -> str:
    """``django.core.mail.message.sanitize_address``, without parsing a plain address, and
    remembered for the other strings (a batch's sender is always the same)."""
    if type(address) is not str:  # a (name, address) pair, a lazy string
        return sanitize_address(address, encoding)
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    return _address_sanitize(address, encoding)


@functools.lru_cache(maxsize=256)
def _address_sanitize(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


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

    With Django's SMTP backend, each message goes straight to the backend's smtplib
    connection (what the backend's ``send_messages`` does, without its per-call lock and
    address parsing; see ``_smtp_send``); any other backend gets ``send_messages``.
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
    smtp = connection.connection if isinstance(connection, SMTPBackend) else None
    try:
        for index, message in enumerate(messages):
            if until is not None and not until():
                return
            try:
                if smtp is not None:
                    _smtp_send(smtp, message, fail_silently=connection.fail_silently)
                else:
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


def _smtp_send(smtp: smtplib.SMTP, message: EmailMessage, *, fail_silently: bool) -> None:
    """Django's ``EmailBackend._send`` on an open connection: the same envelope and bytes.

    The envelope commands are smtplib's ``sendmail`` (SIZE when offered, a refused sender
    or every recipient refused raises, the transaction is reset), with the addresses put in
    angle brackets as ``quoteaddr`` would, without parsing them a second time.
    """
    recipients = message.recipients()
    if not recipients:
        return
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = address_sanitize(message.from_email, encoding)
    to = [address_sanitize(address, encoding) for address in recipients]
    data = message.message().as_bytes(linesep="\r\n")  # type: ignore[call-arg]  # Django's MIME
    try:
        _sendmail(smtp, sender, to, data)
    except smtplib.SMTPException:
        if not fail_silently:
            raise


def _quote(address: str) -> str:
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _quoteaddr(address)


@functools.lru_cache(maxsize=256)
def _quoteaddr(address: str) -> str:
    return smtplib.quoteaddr(address)


def _sendmail(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> None:
    """``smtplib.SMTP.sendmail`` for an ASCII message (as Django's backend sends: it never
    asks for SMTPUTF8), with addresses quoted by ``_quote``."""
    smtp.ehlo_or_helo_if_needed()
    options = f" size={len(data)}" if smtp.does_esmtp and smtp.has_extn("size") else ""
    smtp.putcmd("mail", f"from:{_quote(sender)}{options}")
    code, response = smtp.getreply()
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            _reset(smtp)
        raise smtplib.SMTPSenderRefused(code, response, sender)
    refused = {}
    for recipient in recipients:
        smtp.putcmd("rcpt", f"to:{_quote(recipient)}")
        code, response = smtp.getreply()
        if code not in (250, 251):
            refused[recipient] = (code, response)
        if code == 421:
            smtp.close()
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        _reset(smtp)
        raise smtplib.SMTPRecipientsRefused(refused)
    code, response = smtp.data(data)
    if code != 250:
        if code == 421:
            smtp.close()
        else:
            _reset(smtp)
        raise smtplib.SMTPDataError(code, response)


def _reset(smtp: smtplib.SMTP) -> None:
    """smtplib's ``_rset``: RSET, a server already gone being no error."""
    with contextlib.suppress(smtplib.SMTPServerDisconnected):
        smtp.rset()

"""Reminder emails: HTML and plain-text parts from templates, with one-click unsubscribe."""

import functools
import logging
import re
from email import quoprimime
from email.utils import formatdate, make_msgid
from html import escape as html_escape
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers
from django.core.mail.utils import DNS_NAME
from django.template import Context
from django.template.base import render_value_in_context
from django.template.loader import render_to_string
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation

from apps.core.http import site_url
from apps.reminders.selectors import EmailContext
from apps.reminders.tokens import KEEP_ON_SALT, UNSUBSCRIBE_SALT, token_make

logger = logging.getLogger(__name__)


def reminder_message_render(context: EmailContext) -> EmailMultiAlternatives:
    """One learner's email, ready to send (no queries)."""
    user = context.user
    unsubscribe_token = token_make(user_id=user.pk, salt=UNSUBSCRIBE_SALT)
    unsubscribe_url = site_url(_reverse("reminders:unsubscribe", unsubscribe_token))
    values: dict[str, Any] = {
        "c": context,
        "name": user.name,
        "continue_url": site_url(
            _reverse("learning:track", context.track.slug)
            if context.track
            else _reverse("learning:catalog")
        ),
        "preferences_url": site_url(_reverse("reminders:preferences")),
        "unsubscribe_url": unsubscribe_url,
        "keep_on_url": site_url(
            _reverse("reminders:keep_on", token_make(user_id=user.pk, salt=KEEP_ON_SALT))
        ),
        "site_url": settings.SITE_URL,
    }
    subject, text, html = _parts_render(values)
    mailto = f"mailto:{settings.REMINDERS_UNSUBSCRIBE_MAILTO}?subject=" + quote(
        f"unsubscribe {unsubscribe_token}"
    )
    message = ReminderEmail(
        subject=subject,
        body=text,
        from_email=settings.REMINDERS_FROM_EMAIL,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


# A URL of one of the email's links is reversed once per process (and URLconf and script
# prefix), with a marker for its one argument, and each email's value put in its place:
# ``reverse`` cost up to 45 us a link, 4 links an email. Arguments are slugs and signed
# tokens, which reverse() leaves as they are; anything else goes through reverse().
_PLAIN_ARGUMENT = re.compile(r"[A-Za-z0-9_:-]+")
_ARGUMENT = "stepwise-argument"


def _reverse(name: str, argument: str | None = None) -> str:
    if argument is not None and not _PLAIN_ARGUMENT.fullmatch(argument):
        return reverse(name, args=[argument])
    prefix, suffix = _url_around(name, argument is not None, get_urlconf(), get_script_prefix())
    return prefix if argument is None else f"{prefix}{argument}{suffix}"


@functools.cache
def _url_around(name: str, has_argument: bool, urlconf: Any, script_prefix: str) -> tuple[str, str]:
    if not has_argument:
        return reverse(name), ""
    prefix, _, suffix = reverse(name, args=[_ARGUMENT]).partition(_ARGUMENT)
    return prefix, suffix


# --- rendering the three templates -------------------------------------------------------
#
# Rendering the three templates with Django's engine was 0.42 ms of the 1 ms of CPU a send
# spent per email. Most emails of a batch differ only in the values they show (names,
# links, counts), not in what the templates decide (which kind, which paragraphs, which
# plural). So the templates are rendered once per *shape* (everything the templates branch
# or pluralise on) with a marker in place of each shown value, and each email of that
# shape is the rendered text with its own values put in place of the markers, each
# rendered as the template engine renders a value (localized, escaped in HTML). The first
# email of every shape is also rendered the plain way and compared: should the templates
# ever use a value the markers do not stand for, that shape is always rendered the plain
# way (and a warning logged), so no email can come out different.

TEMPLATES = ("reminders/email/subject.txt", "reminders/email/reminder.txt")
HTML_TEMPLATE = "reminders/email/reminder.html"
_MARKER = re.compile("\ue000([0-9]+)\ue001")
_SHAPES_MAX = 1024
#: Per shape: the subject, text and HTML split at their markers, or None (render plainly).
_shapes: dict[tuple[Any, ...], list[list[str | int]] | None] = {}
_TEXT = Context(autoescape=False)
_HTML = Context(autoescape=True)


def _parts_render(values: dict[str, Any]) -> tuple[str, str, str]:
    key = _shape(values["c"])
    shown: list[Any] = []
    if key in _shapes:
        compiled = _shapes[key]
        if compiled is None:
            return _parts_render_plainly(values)
        _marked(values, shown)
        return _fill(compiled, shown)
    if len(_shapes) >= _SHAPES_MAX:
        _shapes.clear()
    compiled = [_split(part) for part in _parts_render_plainly(_marked(values, shown))]
    plain = _parts_render_plainly(values)
    if _fill(compiled, shown) != plain:
        logger.warning("reminder templates: shape %r is rendered plainly", key)
        _shapes[key] = None
        return plain
    _shapes[key] = compiled
    return plain


def _parts_render_plainly(values: dict[str, Any]) -> tuple[str, str, str]:
    # Accounts have no language of their own: every email is in the site's.
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(TEMPLATES[0], values).split())
        text = render_to_string(TEMPLATES[1], values)
        html = render_to_string(HTML_TEMPLATE, values)
    return subject, text, html


def _shape(c: EmailContext) -> tuple[Any, ...]:
    """What the templates branch and pluralise on (counts that choose a plural form are
    kept whole: plural rules differ between languages)."""
    step = c.next_step
    return (
        settings.LANGUAGE_CODE,
        c.kind,
        c.track is not None,
        c.completion is not None,
        step is not None,
        bool(step and step.resource_url),
        c.streak.current,
        c.streak.at_risk,
        bool(c.weekly_goal),
        c.steps_to_goal,
    )


def _marked(values: dict[str, Any], shown: list[Any]) -> dict[str, Any]:
    """``values`` with a marker for each value shown (its value appended to ``shown``)."""

    def mark(value: Any) -> str:
        shown.append(value)
        return f"\ue000{len(shown) - 1}\ue001"

    c: EmailContext = values["c"]
    track, completion, step = c.track, c.completion, c.next_step
    return {
        **{name: mark(value) for name, value in values.items() if name != "c"},
        "c": SimpleNamespace(
            kind=c.kind,
            track=track and SimpleNamespace(title=mark(track.title)),
            completion=completion
            and SimpleNamespace(
                percent=mark(completion.percent),
                steps_done=mark(completion.steps_done),
                steps_total=mark(completion.steps_total),
            ),
            next_step=step
            and SimpleNamespace(
                title=mark(step.title),
                minutes=mark(step.minutes),
                resource_title=mark(step.resource_title),
                resource_url=step.resource_url and mark(step.resource_url),
            ),
            streak=SimpleNamespace(current=c.streak.current, at_risk=c.streak.at_risk),
            weekly_goal=c.weekly_goal and mark(c.weekly_goal),
            done_this_week=mark(c.done_this_week),
            steps_to_goal=c.steps_to_goal,
        ),
    }


def _split(rendered: str) -> list[str | int]:
    """Literal text and marker numbers, alternating (text first)."""
    pieces: list[str | int] = []
    for n, piece in enumerate(_MARKER.split(rendered)):
        pieces.append(int(piece) if n % 2 else piece)
    return pieces


def _fill(compiled: list[list[str | int]], shown: list[Any]) -> tuple[str, str, str]:
    # Each value rendered once per context, as the template engine would: a plain string is
    # itself (escaped in HTML); an int is localized, remembered per language.
    language = translation.get_language()
    as_text = [_rendered(value, _TEXT, language) for value in shown]
    as_html = [_rendered(value, _HTML, language) for value in shown]
    subject, text, html = (
        "".join([piece if piece.__class__ is str else values[piece] for piece in pieces])  # type: ignore[index]
        for pieces, values in zip(compiled, (as_text, as_text, as_html), strict=True)
    )
    # The subject was made one line with the markers in; a value may not add a line.
    return " ".join(subject.split()), text, html


_ints_rendered: dict[tuple[int, bool, str | None], str] = {}


def _rendered(value: Any, context: Context, language: str | None) -> str:
    kind = value.__class__
    if kind is str:
        return html_escape(value) if context.autoescape else value
    if kind is int:
        key = (value, context.autoescape, language)
        rendered = _ints_rendered.get(key)
        if rendered is None:
            if len(_ints_rendered) >= _SHAPES_MAX:
                _ints_rendered.clear()
            rendered = _ints_rendered[key] = render_value_in_context(value, context)
        return rendered
    return render_value_in_context(value, context)


class ReminderEmail(EmailMultiAlternatives):
    """A reminder: a text body and one HTML alternative, built into MIME by hand.

    Django builds a message with the standard library's email package, whose header folding
    and generator cost about as much as rendering the templates (0.35 ms an email, a third of
    what Stepwise spent on one before). A reminder's shape never varies (two parts, fixed
    headers), so it is written out directly; the header values go through Django's own
    checks and encoding (``forbid_multi_line_headers``), the bodies are 7bit, 8bit or, with
    a line too long for SMTP, quoted-printable, as Django chooses. Any other use (an
    attachment, more alternatives, cc) falls back to Django's message.
    """

    def message(self, **kwargs: Any) -> Any:
        if (
            kwargs
            or self.attachments
            or self.cc
            or self.bcc
            or self.reply_to
            or len(self.alternatives) != 1
            or self.alternatives[0][1] != "text/html"
            or {name.lower() for name in self.extra_headers} & {"from", "to", "date", "message-id"}
        ):
            return super().message(**kwargs)
        encoding = self.encoding or settings.DEFAULT_CHARSET
        headers = [
            ("Subject", self.subject),
            ("From", self.from_email),
            ("To", ", ".join(str(address) for address in self.to)),
            ("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)),
            ("Message-ID", make_msgid(domain=DNS_NAME)),
            *self.extra_headers.items(),
            ("MIME-Version", "1.0"),
        ]
        lines = [_header(name, value, encoding) for name, value in headers]
        boundary = make_msgid(domain="stepwise").strip("<>").replace("@", "=_")
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        html = str(self.alternatives[0][0])
        for body, subtype in ((str(self.body), self.content_subtype), (html, "html")):
            lines += ["", f"--{boundary}", *_part(body, subtype, encoding)]
        lines += [f"--{boundary}--", ""]
        return WireMessage("\r\n".join(lines).encode(encoding, errors="surrogateescape"))


def _header(name: str, value: Any, encoding: str) -> str:
    """One header, checked and encoded as Django does, folded at spaces to 78 characters a
    line where it can be."""
    encoded = str(value)
    if not encoded.isascii() or "\n" in encoded or "\r" in encoded:
        name, encoded = forbid_multi_line_headers(name, value, encoding)
    # else: nothing to encode (Django's Header() would only fold it)
    words = f"{name}: {encoded}".replace("\n ", " ").split(" ")
    lines, line = [], words[0]
    for word in words[1:]:
        if len(line) + 1 + len(word) > 78:
            lines.append(line)
            line = " " + word
        else:
            line += " " + word
    return "\r\n".join([*lines, line])


def _part(body: str, subtype: str, encoding: str) -> list[str]:
    text = "\r\n".join(body.splitlines())
    data = text.encode(encoding, errors="surrogateescape")
    if data.isascii():
        transfer = "7bit"
    elif any(len(line) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in data.split(b"\r\n")):
        transfer = "quoted-printable"
        text = quoprimime.body_encode(data.decode("latin-1"), eol="\r\n")
    else:
        transfer = "8bit"
    return [
        f'Content-Type: text/{subtype}; charset="{encoding}"',
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {transfer}",
        "",
        text,
    ]


class WireMessage:
    """A finished message as bytes, with the part of ``email.message.Message`` that Django's
    email backends use (``as_bytes``, ``as_string``, ``get_charset``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data  # lines end with CRLF, as on the wire

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self._data if linesep == "\r\n" else self._data.replace(b"\r\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", errors="surrogateescape")

    def get_charset(self) -> None:
        return None

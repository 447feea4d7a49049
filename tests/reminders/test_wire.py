"""A reminder's MIME, written by hand, reads exactly as Django's own message would."""

from email import message_from_bytes, policy

import pytest
from django.core.mail import EmailMultiAlternatives

from apps.reminders.emails import ReminderEmail

HEADERS = ("Subject", "From", "To", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted")


def both(**fields):
    """The same email through Django's message and through ReminderEmail, parsed back."""
    parsed = []
    for cls in (EmailMultiAlternatives, ReminderEmail):
        email = cls(**fields)
        email.attach_alternative(fields.get("body", "") + "<p>html</p>", "text/html")
        wire = email.message().as_bytes(linesep="\r\n")
        assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
        parsed.append(message_from_bytes(wire, policy=policy.default))
    return parsed


def parts(message):
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


@pytest.mark.parametrize(
    ("subject", "name", "body"),
    [
        ("Your next step in Generative AI", "Ada", "Hello Ada,\n\nContinue: https://x.test/\n"),
        # Non-ASCII everywhere, and a subject long enough to fold.
        (
            "Votre prochaine étape dans « Apprentissage profond » : réseaux de neurones "
            "convolutifs, récurrents et transformeurs, pas à pas",
            "Zoë Ørsted",
            "Bonjour Zoë,\n\nÉtape suivante : “Attention”\n.leading dot\n",
        ),
        # A line too long for SMTP: quoted-printable, as Django does.
        ("Long", "Ada", "é" + "x" * 1200 + "\nend\n"),
        # A long ASCII subject with commas and semicolons.
        (("a,b;c " * 30).strip(), "Ada", "plain\n"),
    ],
)
def test_a_reminder_reads_as_djangos_message_would(subject, name, body):
    fields = {
        "subject": subject,
        "body": body,
        "from_email": f"{name} <hello@stepwise.example>",
        "to": [f"{name} <learner@example.org>"],
        "headers": {
            "List-Unsubscribe": "<https://stepwise.example/reminders/unsubscribe/"
            + "t" * 80
            + "/>, <mailto:unsubscribe@stepwise.example?subject=unsubscribe%20"
            + "t" * 80
            + ">",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    }

    django_message, hand_written = both(**fields)

    for header in HEADERS:
        assert hand_written[header] == django_message[header], header
    assert hand_written["Date"] and hand_written["Message-ID"]
    assert hand_written.get_content_type() == "multipart/alternative"
    assert parts(hand_written) == parts(django_message)


def test_anything_but_a_plain_reminder_is_left_to_django():
    email = ReminderEmail(subject="Hi", body="Body", to=["a@example.org"], cc=["b@example.org"])
    email.attach_alternative("<p>Body</p>", "text/html")

    assert email.message()["Cc"] == "b@example.org"


@pytest.mark.parametrize(
    "address",
    [
        "ada@example.org",
        "Ada.Lovelace+reminders@Mail.Example.COM",
        "a_b-c@sub-1.example.org",
        "Stepwise <reminders@stepwise.example>",
        '"Lovelace, Ada" <ada@example.org>',
        "José <jose@example.org>",
        "jose@exämple.org",
        "ada..b@example.org",
        "ada@-bad.example.org",
        ("Ada", "ada@example.org"),
    ],
)
def test_an_address_is_sanitized_and_quoted_as_django_and_smtplib_do(address):
    import smtplib

    from django.core.mail.message import sanitize_address

    from apps.core.mail import _quote, address_sanitize

    try:
        expected = sanitize_address(address, "utf-8")
    except ValueError:
        with pytest.raises(ValueError):
            address_sanitize(address, "utf-8")
        return
    assert address_sanitize(address, "utf-8") == expected
    assert _quote(expected) == smtplib.quoteaddr(expected)


def test_a_token_is_what_djangos_timestamp_signer_makes(settings):
    from unittest import mock

    from django.core import signing

    from apps.reminders.tokens import UNSUBSCRIBE_SALT, token_make, token_read

    with mock.patch("time.time", return_value=1_750_000_000.5):
        expected = signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).sign("42")
        assert token_make(user_id=42, salt=UNSUBSCRIBE_SALT) == expected
    settings.SECRET_KEY = "another secret, another key"
    token = token_make(user_id=42, salt=UNSUBSCRIBE_SALT)
    assert signing.TimestampSigner(salt=UNSUBSCRIBE_SALT).unsign(token) == "42"
    assert token_read(token=token, salt=UNSUBSCRIBE_SALT) == 42

"""Signed, expiring links that act for a learner without a login (unsubscribe, keep on)."""

from datetime import timedelta

from django.conf import settings
from django.core import signing

from apps.core.errors import ApplicationError

UNSUBSCRIBE_SALT = "stepwise.reminders.unsubscribe"
KEEP_ON_SALT = "stepwise.reminders.keep-on"


def token_make(*, user_id: int, salt: str) -> str:
    return signing.TimestampSigner(salt=salt).sign(str(user_id))


def token_read(*, token: str, salt: str) -> int:
    """The learner id a token was made for; ApplicationError when tampered with or expired."""
    max_age = timedelta(days=settings.REMINDERS_TOKEN_MAX_AGE_DAYS)
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise ApplicationError(
            "This link has expired; nothing was changed. Sign in to change your reminders.",
            extra={"reason": "expired"},
        ) from exc
    except signing.BadSignature as exc:
        raise ApplicationError(
            "This link is not valid; nothing was changed. Sign in to change your reminders.",
            extra={"reason": "invalid"},
        ) from exc
    return int(value)

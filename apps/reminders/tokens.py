"""Signed, expiring links that act for a learner without a login (unsubscribe, keep on)."""

import functools
import hashlib
import hmac
import time
from datetime import timedelta

from django.conf import settings
from django.core import signing

from apps.core.errors import ApplicationError

UNSUBSCRIBE_SALT = "stepwise.reminders.unsubscribe"
KEEP_ON_SALT = "stepwise.reminders.keep-on"


def token_make(*, user_id: int, salt: str) -> str:
    """``TimestampSigner(salt=salt).sign(str(user_id))``, with the HMAC key derived once per
    salt and secret instead of for every token (a batch signs two links per email)."""
    value = f"{user_id}:{signing.b62_encode(int(time.time()))}"
    mac = _signer_hmac(salt, settings.SECRET_KEY, "sha256").copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


@functools.lru_cache(maxsize=16)
def _signer_hmac(salt: str, secret: str, algorithm: str) -> hmac.HMAC:
    # Django's Signer (sha256 by default): salted_hmac(salt + "signer", value, secret).
    hasher = getattr(hashlib, algorithm)
    key = hasher(f"{salt}signer".encode() + secret.encode()).digest()
    return hmac.new(key, digestmod=hasher)


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

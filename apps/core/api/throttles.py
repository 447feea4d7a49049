"""Request rates: per client address, per learner, and a stricter one for sync."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _RuntimeRate:
    """Read the rate from settings on each use (DRF binds it at import time)."""

    def get_rate(self) -> str | None:
        scope = getattr(self, "scope", None)
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        if scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for the {scope!r} scope.")
        return rates[scope]


class AnonThrottle(_RuntimeRate, AnonRateThrottle):
    """Anonymous callers, per client address."""


class UserThrottle(_RuntimeRate, UserRateThrottle):
    """Signed-in learners, per learner."""


class SyncRateThrottle(_RuntimeRate, UserRateThrottle):
    """A stricter budget for offline sync, whose calls each carry many changes."""

    scope = "sync"

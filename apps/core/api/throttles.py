"""Request rates: per client address, per learner, and a stricter one for sync."""

from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _RuntimeRate(SimpleRateThrottle):
    """DRF copies the rates from settings into the class at import; this reads them again
    on each request, so REST_FRAMEWORK changed later (a test's override) applies. DRF's
    ``get_rate`` still looks the scope up and refuses an unknown one."""

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES  # the stubs say numbers
        self.THROTTLE_RATES = rates
        return super().get_rate()


class AnonThrottle(_RuntimeRate, AnonRateThrottle):
    """Anonymous callers, per client address."""


class UserThrottle(_RuntimeRate, UserRateThrottle):
    """Signed-in learners, per learner."""


class SyncRateThrottle(_RuntimeRate, UserRateThrottle):
    """A stricter budget for offline sync, whose calls each carry many changes."""

    scope = "sync"

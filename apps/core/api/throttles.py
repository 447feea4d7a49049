"""Request rates: per client address, per learner, and a stricter one for sync."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

if TYPE_CHECKING:
    # DRF imports the throttles while it loads rest_framework.views: not at run time.
    from rest_framework.views import APIView


@dataclass(frozen=True)
class RateCounted:
    """A rate a request was counted against: the answer's RateLimit headers say it."""

    limit: int
    window: int
    used: int  # requests in the window, this one included when it was let through
    frees_at: float | None  # when the oldest of them leaves the window
    now: float


class _RuntimeRate(SimpleRateThrottle):
    """DRF copies the rates from settings into the class at import; this reads them again
    on each request, so REST_FRAMEWORK changed later (a test's override) applies. DRF's
    ``get_rate`` still looks the scope up and refuses an unknown one."""

    def get_rate(self) -> str | None:
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES  # the stubs say numbers
        self.THROTTLE_RATES = rates
        return super().get_rate()

    def allow_request(self, request: Request, view: "APIView") -> bool:
        allowed = super().allow_request(request, view)
        history: list[float] | None = getattr(self, "history", None)
        if history is not None:  # a rate applies and counts this caller
            limit, window = self.parse_rate(self.rate)
            counted = request._request.__dict__.setdefault("rate_limits_counted", [])
            counted.append(
                RateCounted(
                    limit=limit or 0,
                    window=window or 0,
                    used=len(history),
                    # The history is newest first: its last request leaves the window first.
                    frees_at=(history[-1] + (window or 0)) if history else None,
                    now=self.timer(),
                )
            )
        return allowed


class AnonThrottle(_RuntimeRate, AnonRateThrottle):
    """Anonymous callers, per client address."""


class UserThrottle(_RuntimeRate, UserRateThrottle):
    """Signed-in learners, per learner."""


class SyncRateThrottle(_RuntimeRate, UserRateThrottle):
    """A stricter budget for offline sync, whose calls each carry many changes."""

    scope = "sync"

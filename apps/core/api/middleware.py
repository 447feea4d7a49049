"""Headers every API answer carries, whichever view gave it: no caching unless the view
says otherwise, and the client's request budget."""

import math
from collections.abc import Callable, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.api.throttles import RateCounted

# Said on every API answer that sets no caching of its own (the answers with an ETag do):
# what the API returns is the learner's own, or an error about their request.
NOT_STORED = "private, no-store"


def rate_limit_headers(rates: Sequence[RateCounted]) -> dict[str, str]:
    """The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-07) of the tightest
    of the rates the request was counted against: its limit, what is left of it, and the
    seconds until the window frees a request; and every rate applied, as the policy."""
    if not rates:
        return {}
    tightest = min(rates, key=lambda rate: rate.limit - rate.used)
    if tightest.frees_at is None:
        reset = tightest.window
    else:
        reset = max(0, math.ceil(tightest.frees_at - tightest.now))
    return {
        "RateLimit-Limit": str(tightest.limit),
        "RateLimit-Remaining": str(max(0, tightest.limit - tightest.used)),
        "RateLimit-Reset": str(reset),
        "RateLimit-Policy": ", ".join(f"{rate.limit};w={rate.window}" for rate in rates),
    }


class ApiResponseHeadersMiddleware:
    """On answers under ``API_PATH_PREFIX``: ``Cache-Control: private, no-store`` unless the
    view set its own, and the RateLimit fields of the rates the API's throttles counted
    (see ``apps.core.api.throttles``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path_info.startswith(settings.API_PATH_PREFIX):
            return response
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = NOT_STORED
        counted: list[RateCounted] = getattr(request, "rate_limits_counted", [])
        for name, value in rate_limit_headers(counted).items():
            response[name] = value
        return response

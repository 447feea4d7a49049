"""JSON answers from allauth headless where it would answer HTML or a 500."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt


def headless_error(status: int, code: str, message: str) -> JsonResponse:
    """An answer in allauth headless's error shape."""
    response = JsonResponse(
        {"status": status, "errors": [{"message": message, "code": code}]}, status=status
    )
    add_never_cache_headers(response)
    return response


@csrf_exempt  # it changes nothing, and must answer JSON even to a write without a token
def headless_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """allauth headless routes that Stepwise does not offer answer a JSON 404."""
    return headless_error(404, "not_found", "Stepwise has no such endpoint.")

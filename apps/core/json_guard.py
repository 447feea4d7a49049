"""JSON request bodies that hostile input cannot turn into a 5xx.

Python's json module recurses once per level of nesting: a few kilobytes of ``[`` raise
RecursionError (not the ValueError parsers catch), and a body nested just short of that
parses but overflows the stack later, in whatever walks it (a serializer, a form, an error
message). So JSON nested deeper than ``JSON_BODY_MAX_DEPTH`` is refused, like JSON that is
malformed, not UTF-8, NaN or Infinity, or an integer longer than Python converts.

The API reads bodies with ``JSONParser`` below. allauth headless reads them itself and
answers an empty HTML 400, or a 500, when it cannot: ``HeadlessJSONGuardMiddleware`` checks
first and answers in allauth's error shape, as ``headless_not_found`` does for the routes
allauth mounts that Stepwise does not offer.
"""

import json
from collections.abc import Callable, Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from rest_framework import parsers
from rest_framework.exceptions import ParseError

_CONTAINERS = (dict, list)


class UnreadableJSON(ValueError):
    """The body is not JSON we read; the message says why, for the client."""


def _refuse_constant(name: str) -> Any:
    raise UnreadableJSON(f"{name} is not a JSON number.")


def _deeper_than(document: Any, limit: int) -> bool:
    # A level at a time, not recursive: checking the depth must not overflow the stack.
    level, depth = [document], 1
    while level:
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, _CONTAINERS)
        ]
        depth += 1
    return False


def json_body_load(body: bytes, encoding: str = "utf-8") -> Any:
    """The JSON document in ``body``, or ``UnreadableJSON``."""
    limit = settings.JSON_BODY_MAX_DEPTH
    try:
        text = body.decode(encoding)
        document = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise UnreadableJSON(f"nested deeper than {limit} levels.") from None
    except LookupError:
        # Also what bytes.decode() says to a codec that is not text (bz2_codec would inflate).
        raise UnreadableJSON(f"unsupported charset {encoding!r}.") from None
    except UnicodeDecodeError as exc:
        raise UnreadableJSON(f"the body is not valid {encoding}: {exc.reason}.") from None
    except json.JSONDecodeError as exc:
        raise UnreadableJSON(str(exc)) from None
    except UnreadableJSON:
        raise
    except ValueError:
        # Only an integer of more digits than int() converts (sys.get_int_max_str_digits).
        raise UnreadableJSON("a number has too many digits.") from None
    # Fewer brackets than levels allowed cannot be too deep: most bodies skip the walk.
    brackets = text.count("[") + text.count("{")
    if brackets > limit and isinstance(document, _CONTAINERS) and _deeper_than(document, limit):
        raise UnreadableJSON(f"nested deeper than {limit} levels.")
    return document


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what ``json_body_load`` refuses with a 400 parse error."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_body_load(stream.read() if stream else b"", encoding)
        except UnreadableJSON as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


# --- allauth headless --------------------------------------------------------------------


def headless_error(status: int, code: str, message: str) -> JsonResponse:
    """An answer in allauth headless's error shape."""
    response = JsonResponse(
        {"status": status, "errors": [{"message": message, "code": code}]}, status=status
    )
    add_never_cache_headers(response)
    return response


class HeadlessJSONGuardMiddleware:
    """Checks, before an allauth headless view parses it, that the body is JSON it can read.

    Applies exactly where allauth parses: views with ``handle_json_input``, on all but GET.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], *args: Any
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "view_class", None)
        if request.method == "GET" or not getattr(view_class, "handle_json_input", False):
            return None
        try:
            body = request.body
        except RequestDataTooBig:
            return headless_error(
                413,
                "request_too_large",
                f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
            )
        if not body:
            return None  # allauth reads no body as {}
        try:
            document = json_body_load(body)
        except UnreadableJSON as exc:
            return headless_error(400, "invalid_json", f"JSON parse error - {exc}")
        if not isinstance(document, dict):
            return headless_error(400, "invalid_json", "The request body must be a JSON object.")
        return None


@csrf_exempt  # it changes nothing, and must answer JSON even to a write without a token
def headless_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """allauth headless routes that Stepwise does not offer answer a JSON 404."""
    return headless_error(404, "not_found", "Stepwise has no such endpoint.")

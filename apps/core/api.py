"""What every API view shares: authentication, the one error shape, throttles, ETags, paging.

Every 4xx answer of the API has the same body::

    {"error": {"code": "invalid", "message": "status: ...", "fields": {"status": ["..."]}}}

``code`` is stable and machine-readable, ``message`` says in words what is wrong and
``fields`` maps each offending input (dotted path, e.g. ``operations.3.step``) to its
messages; it is empty when the error is not about one field.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.http import parse_etags, quote_etag
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from apps.accounts.models import User
from apps.core.errors import ApplicationError

# --- authentication ---------------------------------------------------------------------


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.core.authentication.SessionTokenAuthentication"
    name = "SessionToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "The session token that /_allauth/app/v1/auth/login (or signup, "
            "then email/verify) returns in meta.session_token.",
        }


def request_learner(request: Request) -> User:
    """The signed-in learner of a view that requires one."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


def authenticated_session(request: Request) -> SessionBase:
    """The session the request is signed in with: the token's, or the browser's cookie."""
    if isinstance(request.auth, SessionBase):
        return request.auth
    return request.session


# --- errors -----------------------------------------------------------------------------


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class ReauthenticationRequired(exceptions.APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "reauthentication_required"
    default_detail = (
        "Confirm your password first (POST /_allauth/app/v1/auth/reauthenticate), then retry."
    )


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"dotted.path": ["message", ...]}``."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            flat.update(_flatten(value, f"{prefix}.{name}".strip(".") if name else prefix))
        return flat
    if isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(_flatten(item, f"{prefix}.{index}".strip(".")))
        return flat
    messages = [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix: messages} if messages else {}


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    if isinstance(exc, ApplicationError):
        field = exc.extra.get("field")
        return exceptions.ValidationError({field: [exc.message]} if field else [exc.message])
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=serializers.as_serializer_error(exc))
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn every error into the one documented shape; anything unknown stays a 500."""
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        described = [
            f"{name}: {' '.join(msgs)}" if name else " ".join(msgs) for name, msgs in fields.items()
        ]
        code, message = "invalid", "Invalid input. " + " ".join(described)
        fields.pop("", None)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message, fields = str(exc.detail), {}
        if isinstance(exc, exceptions.UnsupportedMediaType):
            message += " Send application/json."
    response.data = {"error": {"code": code, "message": message.strip(), "fields": fields}}
    return response


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": {}}}


@csrf_exempt  # it changes nothing, and must answer JSON even to a write without a token
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Paths under the API that match no endpoint answer JSON, like every other error."""
    return JsonResponse(error_body("not_found", "No API endpoint at this path."), status=404)


NO_NUL = RegexValidator(r"^[^\x00]*$", message="Null characters are not allowed.")


class StrictCharField(serializers.CharField):
    """A JSON string, and only a string: DRF would quietly turn 5 or 1.5 into text.

    NUL characters are refused (PostgreSQL cannot store them), and the schema says so.
    """

    default_error_messages = {"not_a_string": "Expected a string but got {type}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["validators"] = [*kwargs.get("validators", []), NO_NUL]
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", type=type(data).__name__)
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A whole number: a JSON integer (not true, 3.0 or "3"); in a query string, digits."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        if isinstance(data, str) and not re.fullmatch(r"-?[0-9]+", data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a string: DRF would take ``false`` for the nil UUID."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class QueryParamsSerializer(serializers.Serializer):
    """Query parameters, each given at most once (``?a=1&a=2`` is ambiguous), and none
    empty unless blank means something (DRF would read ``?since=`` as absent)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            wrong: dict[str, list[str]] = {}
            for name, field in self.fields.items():
                values = data.getlist(name)
                if len(values) > 1:
                    wrong[name] = ["Give this parameter once."]
                elif values == [""] and not getattr(field, "allow_blank", False):
                    wrong[name] = ["Give a value, or leave the parameter out."]
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable reason.")
    message = serializers.CharField(help_text="What is wrong, in words.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per offending input, keyed by its dotted path.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERROR_TEXT = {
    400: "Bad input: wrong types, unknown values, malformed JSON.",
    401: "Not signed in, or the session token is invalid.",
    403: "Signed in with the browser session but the CSRF token is missing.",
    404: "No such object (or not yours).",
    405: "Method not allowed.",
    406: "Only application/json responses are available.",
    413: "The request body is too large.",
    415: "The request body is not application/json.",
    429: "Too many requests; the Retry-After header says when to retry.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the given 4xx codes, all with the one error shape."""
    wanted: Iterable[int] = sorted({*codes, 401, 405, 406, 429})
    return {
        code: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[code]) for code in wanted
    }


def collapse_blank_string_alternatives(result: Any, **kwargs: Any) -> Any:
    """Schema post-processing: drf-spectacular writes a blank-allowed string with a pattern
    as ``oneOf: [{pattern...}, {maxLength: 0}]``; "" matches both, so nothing would accept
    it. Our patterns already admit "", so the first alternative says it all."""

    def visit(node: Any) -> Any:
        if isinstance(node, dict):
            alternatives = node.get("oneOf")
            if (
                isinstance(alternatives, list)
                and len(alternatives) == 2
                and alternatives[1] == {"type": "string", "maxLength": 0}
                and re.fullmatch(alternatives[0].get("pattern", "x"), "") is not None
            ):
                node = {**alternatives[0], **{k: v for k, v in node.items() if k != "oneOf"}}
            return {key: visit(value) for key, value in node.items()}
        if isinstance(node, list):
            return [visit(item) for item in node]
        return node

    return visit(result)


# --- throttles --------------------------------------------------------------------------


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


# --- caching and paging -----------------------------------------------------------------


def etag_response(request: Request, data: Any) -> HttpResponse | Response:
    """200 with a strong ETag of the body, or 304 when the client already has it.

    The tag hashes the exact bytes sent, so any change (content, the learner's progress)
    gives a new tag; the answer depends on who asks, hence ``Vary`` and ``private``.
    """
    body = JSONRenderer().render(data)
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Vary": "Cookie, X-Session-Token",
    }
    wanted = parse_etags(request.headers.get("If-None-Match", ""))
    if etag in wanted or "*" in wanted or f"W/{etag}" in wanted:
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    # The body is already rendered (the tag needed it): send those bytes, not a second
    # rendering of ``data``. JSON is the API's only renderer.
    return HttpResponse(body, content_type="application/json", headers=headers)


class PositionCursorPagination(CursorPagination):
    """Cursor paging in curated order; a tampered cursor is a 400, never a 500."""

    ordering = ("position", "id")
    page_size_query_param = "page_size"

    def __init__(self) -> None:
        self.page_size = settings.API_TRACKS_PAGE_SIZE
        self.max_page_size = settings.API_TRACKS_MAX_PAGE_SIZE

    def decode_cursor(self, request: Request) -> Any:
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError({self.cursor_query_param: [str(exc.detail)]}) from exc
        if cursor is not None and cursor.position is not None:
            try:
                int(cursor.position)
            except ValueError as exc:
                raise exceptions.ValidationError(
                    {self.cursor_query_param: ["Invalid cursor."]}
                ) from exc
        return cursor


def validation_error(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})

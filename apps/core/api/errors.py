"""The API's one error shape, the exception handler that gives it, and its OpenAPI docs.

Every 4xx answer of the API has the same body::

    {"error": {"code": "invalid", "message": "status: ...", "fields": {"status": ["..."]}}}

``code`` is stable and machine-readable, ``message`` says in words what is wrong and
``fields`` maps each offending input (dotted path, e.g. ``operations.3.step``) to its
messages; it is empty when the error is not about one field.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.core.errors import ApplicationError


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


def _with_slash(request: HttpRequest) -> str | None:
    """The URL the client meant when only the trailing slash is missing, else None."""
    if request.path_info.endswith("/"):
        return None
    try:
        match = resolve(request.path_info + "/")
    except Resolver404:
        return None
    if match.func is api_not_found:
        return None
    query = request.META.get("QUERY_STRING", "")
    return request.path + "/" + (f"?{query}" if query else "")


@csrf_exempt  # it changes nothing, and must answer JSON even to a write without a token
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Paths under the API that match no endpoint answer JSON, like every other error;
    a path missing only its trailing slash is told the right one (no redirect: a client
    would resend a write as a GET)."""
    meant = _with_slash(request)
    message = (
        "No API endpoint at this path."
        if meant is None
        else f"No API endpoint at this path: API paths end with a slash, use {meant}"
    )
    return JsonResponse(error_body("not_found", message), status=404)


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

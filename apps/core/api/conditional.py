"""Conditional GET: an ETag on each answer, 304 when the client already has it."""

from typing import Any

from django.http import HttpResponse
from django.utils.cache import get_conditional_response, set_response_etag
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = "The If-Match or If-Unmodified-Since condition does not hold."


def etag_response(request: Request, data: Any) -> HttpResponse:
    """200 with a strong ETag of the body, or 304 when the client already has it.

    The tag hashes the exact bytes sent, so any change (content, the learner's progress)
    gives a new tag; the answer depends on who asks, hence ``Vary`` and ``private``.
    Django evaluates the request's conditions (If-None-Match, weak or strong, and ``*``).
    """
    # The body is rendered here, once: the tag needs it. JSON is the API's only renderer.
    response = HttpResponse(
        JSONRenderer().render(data),
        content_type="application/json",
        headers={"Cache-Control": "private, no-cache", "Vary": "Cookie, X-Session-Token"},
    )
    set_response_etag(response)
    # Given a response, Django always answers one: this one, a 304 or a 412.
    answer = (
        get_conditional_response(request._request, etag=response.get("ETag"), response=response)
        or response
    )
    if answer.status_code == status.HTTP_412_PRECONDITION_FAILED:
        raise PreconditionFailed()  # in the one error shape, not Django's empty 412
    return answer

"""Conditional GET: an ETag on each answer, 304 when the client already has it."""

import hashlib
from typing import Any

from django.http import HttpResponse
from django.utils.http import parse_etags, quote_etag
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


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

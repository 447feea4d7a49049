"""API authentication. Kept apart from apps.core.api: DRF imports it while it starts up."""

import re
from typing import Any

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.http import HttpRequest
from rest_framework import exceptions

# Session keys are short and alphanumeric; anything else cannot be a token we issued.
_SESSION_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{8,255}")


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's ``X-Session-Token`` (issued by /_allauth/app/v1/auth/...).

    Differs from allauth's class in two ways an app relies on: a token that is sent but
    not valid (expired, signed out, malformed) is refused with 401 instead of silently
    treating the request as anonymous, and 401 (not 403) answers a missing token.
    """

    def authenticate(self, request: HttpRequest) -> tuple[Any, Any] | None:
        token = self.get_session_token(request)
        if token is None:
            return None
        if not _SESSION_TOKEN.fullmatch(token):
            raise exceptions.AuthenticationFailed("The X-Session-Token header is malformed.")
        result = super().authenticate(request)
        if result is None:
            raise exceptions.AuthenticationFailed(
                "The session token is unknown or has expired; sign in again."
            )
        return result

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'X-Session-Token realm="api"'

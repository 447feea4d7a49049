"""The API's authentication as OpenAPI describes it, and who a request is signed in as."""

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.base import SessionBase
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.request import Request

if TYPE_CHECKING:
    # The stubs' alias for the AUTH_USER_MODEL class: core names no other app.
    from django.contrib.auth.models import _User


class SessionTokenScheme(OpenApiAuthenticationExtension):
    """Registered with drf-spectacular on import (see ``CoreConfig.ready``)."""

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


def request_learner(request: Request) -> "_User":
    """The signed-in learner of a view that requires one."""
    user = request.user
    if not isinstance(user, get_user_model()):
        raise exceptions.NotAuthenticated()
    return user


def authenticated_session(request: Request) -> SessionBase:
    """The session the request is signed in with: the token's, or the browser's cookie."""
    if isinstance(request.auth, SessionBase):
        return request.auth
    return request.session

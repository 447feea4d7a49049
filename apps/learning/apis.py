"""The learner's own account for the mobile apps: profile, reminder preferences, export,
deletion."""

from types import SimpleNamespace
from typing import Any

from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.accounts.services import user_delete, user_profile_update
from apps.core.api.auth import authenticated_session, request_learner
from apps.core.api.errors import ReauthenticationRequired, error_responses
from apps.learning.serializers import ExportSerializer, MeSerializer, MeUpdateSerializer
from apps.learning.services import user_data_export
from apps.reminders.selectors import reminder_preferences_get
from apps.reminders.services import reminder_preferences_update

PROFILE_FIELDS = ("display_name", "timezone")


def _me(user: User) -> dict[str, Any]:
    preferences = reminder_preferences_get(user=user)
    return {
        "email": user.email,
        "display_name": user.display_name,
        "timezone": user.timezone,
        "date_joined": user.date_joined,
        "reminder_frequency": preferences.reminder_frequency,
        "reminder_weekday": preferences.reminder_weekday,
        "reminder_hour": preferences.reminder_hour,
        "weekly_goal": preferences.weekly_goal,
    }


class MeApi(APIView):
    @extend_schema(operation_id="me_retrieve", responses={200: MeSerializer, **error_responses()})
    def get(self, request: Request) -> Response:
        """The learner's profile and reminder preferences."""
        return Response(MeSerializer(_me(request_learner(request))).data)

    @extend_schema(
        operation_id="me_update",
        request=MeUpdateSerializer,
        responses={200: MeSerializer, **error_responses(400, 403, 413, 415)},
    )
    def patch(self, request: Request) -> Response:
        """Change any of the profile and reminder fields; all or nothing."""
        user = request_learner(request)
        data = MeUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = {k: v for k, v in data.validated_data.items() if k in PROFILE_FIELDS}
        reminders = {k: v for k, v in data.validated_data.items() if k not in PROFILE_FIELDS}
        # Two services, one outcome: a bad reminder value must not keep a new time zone.
        with transaction.atomic():
            if profile:
                user_profile_update(user=user, **profile)
            if reminders:
                reminder_preferences_update(user=user, **reminders)
        return Response(MeSerializer(_me(user)).data)

    @extend_schema(
        operation_id="me_delete",
        request=None,
        responses={
            204: OpenApiResponse(description="The account and all its progress are deleted."),
            **error_responses(403),
        },
    )
    def delete(self, request: Request) -> Response:
        """Delete the account. Confirm the password first within the last few minutes
        (POST /_allauth/app/v1/auth/reauthenticate), else 401 ``reauthentication_required``."""
        user = request_learner(request)
        signed_in = SimpleNamespace(user=user, session=authenticated_session(request))
        if not did_recently_reauthenticate(signed_in):
            raise ReauthenticationRequired()
        user_delete(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeExportApi(APIView):
    @extend_schema(operation_id="me_export", responses={200: ExportSerializer, **error_responses()})
    def get(self, request: Request) -> Response:
        """Everything Stepwise holds about the learner, as JSON."""
        return Response(user_data_export(user=request_learner(request)))

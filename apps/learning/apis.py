"""The learner's own account for the mobile apps: profile, reminder preferences, export,
deletion."""

from types import SimpleNamespace
from typing import Any

from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from apps.accounts.services import user_delete, user_profile_update
from apps.content.models import Track
from apps.content.selectors import (
    groups_of_steps,
    track_list,
    track_published_get,
    track_steps,
)
from apps.core.api.auth import authenticated_session, request_learner
from apps.core.api.conditional import etag_response
from apps.core.api.errors import ReauthenticationRequired, error_responses
from apps.core.api.pagination import PositionCursorPagination
from apps.learning.selectors import learner_dashboard_for, track_detail_version
from apps.learning.serializers import (
    ChoiceGroupSerializer,
    ExportSerializer,
    MeSerializer,
    MeUpdateSerializer,
    PaceReportSerializer,
    StepSerializer,
    TrackDetailSerializer,
    TrackFilterSerializer,
    TrackPageSerializer,
    TrackSerializer,
)
from apps.learning.services import user_data_export
from apps.progress.models import Status
from apps.progress.selectors import StepShape, track_progress_for
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
    @extend_schema(
        operation_id="me_retrieve",
        summary="Read my profile",
        responses={
            200: OpenApiResponse(MeSerializer, description="The profile and reminder settings."),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        """The learner's profile and reminder preferences."""
        return Response(MeSerializer(_me(request_learner(request))).data)

    @extend_schema(
        operation_id="me_update",
        summary="Change my profile",
        request=MeUpdateSerializer,
        responses={
            200: OpenApiResponse(MeSerializer, description="The profile as it is now."),
            **error_responses(400, 403, 413, 415),
        },
        examples=[
            OpenApiExample(
                "New time zone and goal",
                value={"timezone": "Europe/Paris", "weekly_goal": 5},
                request_only=True,
            )
        ],
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
        summary="Delete my account",
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
    @extend_schema(
        operation_id="me_export",
        summary="Export my data",
        responses={
            200: OpenApiResponse(ExportSerializer, description="Everything held about me."),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        """Everything Stepwise holds about the learner, as JSON."""
        return Response(user_data_export(user=request_learner(request)))


_IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier answer: 304 if nothing changed.",
)
_NOT_MODIFIED = OpenApiResponse(description="Not modified since the ETag sent.")


class TrackListApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="tracks_list",
        summary="List tracks",
        parameters=[TrackFilterSerializer, _IF_NONE_MATCH],
        responses={
            200: OpenApiResponse(TrackPageSerializer, description="A page of tracks."),
            304: _NOT_MODIFIED,
            **error_responses(400),
        },
    )
    def get(self, request: Request) -> HttpResponse | Response:
        """Published tracks in curated order, a page at a time (follow ``next``)."""
        filters = TrackFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        tracks = track_list(
            level=filters.validated_data.get("level", ""),
            goal=filters.validated_data.get("goal", ""),
            search=filters.validated_data.get("search", ""),
        )
        paginator = PositionCursorPagination()
        page = paginator.paginate_queryset(tracks, request, view=self) or []
        return etag_response(
            request, paginator.get_paginated_response(TrackSerializer(page, many=True).data).data
        )


class TrackDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="tracks_retrieve",
        summary="Read a track",
        parameters=[_IF_NONE_MATCH],
        responses={
            200: OpenApiResponse(TrackDetailSerializer, description="The track and its steps."),
            304: _NOT_MODIFIED,
            **error_responses(404),
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponse | Response:
        """One track: its ordered steps with prerequisites and resources; for a signed-in
        learner also each step's status and the track's progress."""
        learner_id = request.user.pk if request.user.is_authenticated else 0
        # 1 query for the version of the answer; an answer built for it is served again
        # from the shared cache while it holds (a status change, a content change or a new
        # learner on the track moves it on), as the web keeps a learner's page parts.
        version = track_detail_version(slug=slug, learner_id=learner_id)
        if version is None:
            raise Http404
        key = version.cache_key(learner_id)
        data = cache.get(key)
        if data is None:
            data = _track_detail_data(request, slug)
            cache.set(key, data, settings.STEPWISE_LEARNER_FRAGMENT_SECONDS)
        return etag_response(request, data)


def _track_detail_data(request: Request, slug: str) -> dict[str, Any]:
    """The answer of ``TrackDetailApi``, built: 2 queries when the steps are cached."""
    track = track_published_get(slug=slug)
    if track is None:
        raise Http404
    steps, groups = _track_steps_data(track)
    track.step_count = len(steps)  # type: ignore[attr-defined]
    track.total_minutes = sum(s["estimated_minutes"] for s in steps)  # type: ignore[attr-defined]
    context: dict[str, object] = {"steps_data": steps, "groups_data": groups}
    if request.user.is_authenticated:
        required = {g["id"]: g["required"] for g in groups}
        progress = track_progress_for(
            user=request_learner(request),
            track=track,
            steps=[
                StepShape(
                    s["id"],
                    s["is_optional"],
                    s["estimated_minutes"],
                    s["group"]["id"] if s["group"] else None,
                    required[s["group"]["id"]] if s["group"] else 0,
                )
                for s in steps
            ],
        )
        context.update(
            steps_data=[
                {**step, "status": progress.statuses.get(step["id"], Status.TODO)} for step in steps
            ],
            completion=progress.completion,
        )
    return dict(TrackDetailSerializer(track, context=context).data)


def _track_steps_data(track: Track) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The track's current steps with prerequisites and resources, and its choice groups,
    as the API shows them to everyone (no status), serialized once per content revision
    and then served from the cache: 4 queries and the serializing are saved on every
    later request."""
    key = f"api:v1:track-steps:{track.pk}:{track.content_revision}"  # type: ignore[attr-defined]
    data: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = cache.get(key)
    if data is None:
        steps = list(track_steps(track=track))
        data = (
            [dict(step) for step in StepSerializer(steps, many=True).data],
            [dict(g) for g in ChoiceGroupSerializer(groups_of_steps(steps), many=True).data],
        )
        cache.set(key, data, settings.API_TRACK_STEPS_CACHE_SECONDS)
    return data


class PaceApi(APIView):
    @extend_schema(
        operation_id="progress_pace",
        responses={200: PaceReportSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        """The learner's pace over the last four weeks, their week against their weekly
        goal, and for each track they follow when they would finish at that pace."""
        learner = request_learner(request)
        mine = learner_dashboard_for(user=learner)
        tracks = [
            {
                "track": e.track.slug,
                "remaining_minutes": e.completion.remaining_minutes,
                "finish_on": mine.finish_on(e.completion),
            }
            for e in mine.dashboard.enrollments
        ]
        report = {"pace": mine.pace, "weekly": mine.weekly, "tracks": tracks}
        return Response(PaceReportSerializer(report).data)

"""Tracks for the mobile apps: the catalog and one track with its steps and resources."""

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.content.models import Track
from apps.content.selectors import track_list, track_published_get, track_steps
from apps.content.serializers import (
    StepSerializer,
    TrackDetailSerializer,
    TrackFilterSerializer,
    TrackPageSerializer,
    TrackSerializer,
)
from apps.core.api.auth import request_learner
from apps.core.api.conditional import etag_response
from apps.core.api.errors import error_responses
from apps.core.api.pagination import PositionCursorPagination
from apps.progress.models import Status
from apps.progress.selectors import track_progress_for

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
        parameters=[TrackFilterSerializer, _IF_NONE_MATCH],
        responses={
            200: TrackPageSerializer,
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
        parameters=[_IF_NONE_MATCH],
        responses={200: TrackDetailSerializer, 304: _NOT_MODIFIED, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> HttpResponse | Response:
        """One track: its ordered steps with prerequisites and resources; for a signed-in
        learner also each step's status and the track's progress."""
        track = track_published_get(slug=slug)
        if track is None:
            raise Http404
        steps = _track_steps_data(track)
        track.step_count = len(steps)  # type: ignore[attr-defined]
        track.total_minutes = sum(s["estimated_minutes"] for s in steps)  # type: ignore[attr-defined]
        context: dict[str, object] = {"steps_data": steps}
        if request.user.is_authenticated:
            progress = track_progress_for(
                user=request_learner(request),
                track=track,
                steps=[(s["id"], s["is_optional"], s["estimated_minutes"]) for s in steps],
            )
            context.update(
                steps_data=[
                    {**step, "status": progress.statuses.get(step["id"], Status.TODO)}
                    for step in steps
                ],
                completion=progress.completion,
            )
        return etag_response(request, TrackDetailSerializer(track, context=context).data)


def _track_steps_data(track: Track) -> list[dict[str, Any]]:
    """The track's steps with prerequisites and resources, as the API shows them to
    everyone (no status), serialized once per content revision and then served from
    the cache: 3 queries and the serializing are saved on every later request."""
    key = f"api:v1:track-steps:{track.pk}:{track.content_revision}"  # type: ignore[attr-defined]
    data: list[dict[str, Any]] | None = cache.get(key)
    if data is None:
        data = [dict(step) for step in StepSerializer(track_steps(track=track), many=True).data]
        cache.set(key, data, settings.API_TRACK_STEPS_CACHE_SECONDS)
    return data

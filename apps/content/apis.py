"""Tracks for the mobile apps: the catalog and one track with its steps and resources."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.content.selectors import track_list, track_steps
from apps.content.serializers import (
    TrackDetailSerializer,
    TrackFilterSerializer,
    TrackPageSerializer,
    TrackSerializer,
)
from apps.core.api import PositionCursorPagination, error_responses, etag_response, request_learner
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
    def get(self, request: Request) -> Response:
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
    def get(self, request: Request, slug: str) -> Response:
        """One track: its ordered steps with prerequisites and resources; for a signed-in
        learner also each step's status and the track's progress."""
        track = get_object_or_404(track_list(), slug=slug)
        steps = list(track_steps(track=track))
        context: dict[str, object] = {"steps": steps}
        if request.user.is_authenticated:
            progress = track_progress_for(
                user=request_learner(request), track=track, step_ids=[step.pk for step in steps]
            )
            context.update(statuses=progress.statuses, completion=progress.completion)
        return etag_response(request, TrackDetailSerializer(track, context=context).data)

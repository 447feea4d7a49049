"""What changed on a track since the learner's last visit, for the mobile apps."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.content.models import Track, TrackChange
from apps.content.selectors import track_published_get
from apps.core.api.auth import request_learner
from apps.core.api.errors import error_responses
from apps.core.api.fields import StrictIntegerField
from apps.learning.changelog import track_changelog_for, track_changes_seen


class TrackChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=TrackChange.Kind.choices)
    step_key = serializers.CharField()
    step_title = serializers.CharField()
    detail = serializers.CharField(
        help_text="What changed, in words: the resource added or replaced, the fields edited."
    )
    occurred_at = serializers.DateTimeField()
    step_current = serializers.BooleanField(help_text="Whether the step is on the track now.")


class TrackChangelogSerializer(serializers.Serializer):
    summary = serializers.CharField(
        help_text='In words, e.g. "2 steps added, 1 retired, 1 resource replaced"; empty '
        "when nothing changed."
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many changes of each kind."
    )
    changes = TrackChangeSerializer(many=True, help_text="The newest first.")
    more = serializers.IntegerField(help_text="Changes counted but not listed.")
    last_id = serializers.IntegerField(
        help_text="The newest change's id: send it to .../changes/seen/ once shown (0: none)."
    )


class TrackChangesSeenSerializer(serializers.Serializer):
    up_to = StrictIntegerField(
        min_value=0, max_value=2**63 - 1, help_text="The ``last_id`` the app showed."
    )


def _track(slug: str) -> Track:
    track = track_published_get(slug=slug)
    if track is None:
        raise Http404
    return track


class TrackChangesApi(APIView):
    @extend_schema(
        operation_id="tracks_changes",
        responses={200: TrackChangelogSerializer, **error_responses(404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        """What curators changed on the track since the learner's last visit (on the web
        or marked with .../changes/seen/), counting only changes since they started
        following it. Reading it marks nothing seen."""
        user = request_learner(request)
        changelog = track_changelog_for(user_id=user.pk, track_id=_track(slug).pk)
        return Response(
            TrackChangelogSerializer(
                {
                    "summary": changelog.summary,
                    "counts": changelog.counts,
                    "changes": changelog.items,
                    "more": changelog.more,
                    "last_id": changelog.last_id,
                }
            ).data
        )


class TrackChangesSeenApi(APIView):
    @extend_schema(
        operation_id="tracks_changes_seen",
        request=TrackChangesSeenSerializer,
        responses={
            204: OpenApiResponse(description="Changes up to ``up_to`` are seen."),
            **error_responses(400, 404, 413, 415),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        """Mark the track's changes seen up to ``up_to`` (the ``last_id`` shown), as a
        visit to the track page does: later changes stay news."""
        user = request_learner(request)
        track = _track(slug)
        data = TrackChangesSeenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        track_changes_seen(user_id=user.pk, track_id=track.pk, up_to=data.validated_data["up_to"])
        return Response(status=status.HTTP_204_NO_CONTENT)

"""A learner's progress for the mobile apps: dashboard, one step, offline sync, changes."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.content.models import Step
from apps.content.selectors import track_published_get
from apps.core.api.auth import request_learner
from apps.core.api.errors import error_responses
from apps.core.api.throttles import SyncRateThrottle
from apps.progress.models import BulkAction, Source
from apps.progress.selectors import (
    bulk_action_for,
    done_elsewhere_for,
    learner_dashboard,
    progress_changes_since,
    published_step_get,
    step_note_for,
    step_progress_get,
)
from apps.progress.serializers import (
    BulkActionInputSerializer,
    BulkActionSerializer,
    ChangesQuerySerializer,
    DashboardSerializer,
    ProgressChangesSerializer,
    StepNoteInputSerializer,
    StepNoteSerializer,
    StepProgressSerializer,
    StepStatusInputSerializer,
    SuggestionsSerializer,
    SyncInputSerializer,
    SyncResultSerializer,
)
from apps.progress.services import (
    SyncOperation,
    bulk_action_undo,
    progress_sync,
    step_note_set,
    step_status_set,
    track_bulk_set,
)

_STEP_ID = OpenApiParameter("step_id", int, OpenApiParameter.PATH, description="A step's id.")
_SYNC_REQUEST = OpenApiExample(
    "Two changes made offline",
    request_only=True,
    value={
        "operations": [
            {
                "op_id": "0b5c7a36-5f1e-4f57-9d3c-2f4a8e1b6c01",
                "step": 28,
                "status": "in_progress",
                "occurred_at": "2025-01-31T18:30:00+01:00",
            },
            {
                "op_id": "0b5c7a36-5f1e-4f57-9d3c-2f4a8e1b6c02",
                "step": 28,
                "status": "done",
                "occurred_at": "2025-01-31T19:05:00+01:00",
            },
        ]
    },
)
_SYNC_RESULT = OpenApiExample(
    "Both applied",
    response_only=True,
    value={
        "results": [
            {
                "op_id": "0b5c7a36-5f1e-4f57-9d3c-2f4a8e1b6c01",
                "result": "applied",
                "step": 28,
                "changed": True,
                "reason": None,
                "message": None,
            },
            {
                "op_id": "0b5c7a36-5f1e-4f57-9d3c-2f4a8e1b6c02",
                "result": "applied",
                "step": 28,
                "changed": True,
                "reason": None,
                "message": None,
            },
        ],
        "statuses": [{"step": 28, "status": "done", "status_changed_at": "2025-01-31T18:05:00Z"}],
        "cursor": 412,
    },
)


class DashboardApi(APIView):
    @extend_schema(
        operation_id="progress_dashboard",
        summary="Read my dashboard",
        responses={
            200: OpenApiResponse(DashboardSerializer, description="The learner's dashboard."),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        """The learner's dashboard: enrollments with completion and next step, streak,
        activity per day (last 12 weeks) and recently completed steps."""
        return Response(DashboardSerializer(learner_dashboard(user=request_learner(request))).data)


def _published_step(step_id: int) -> Step:
    step = published_step_get(step_id=step_id)
    if step is None:
        raise NotFound(f"There is no published step with id {step_id}.")
    return step


class StepProgressApi(APIView):
    @extend_schema(
        operation_id="progress_step_retrieve",
        summary="Read my status on a step",
        parameters=[_STEP_ID],
        responses={
            200: OpenApiResponse(StepProgressSerializer, description="The learner's status."),
            **error_responses(404),
        },
    )
    def get(self, request: Request, step_id: int) -> Response:
        """The learner's status on one step (to do when never touched)."""
        step = _published_step(step_id)
        return Response(
            StepProgressSerializer(step_progress_get(user=request_learner(request), step=step)).data
        )

    @extend_schema(
        operation_id="progress_step_update",
        summary="Set my status on a step",
        parameters=[_STEP_ID],
        request=StepStatusInputSerializer,
        responses={
            200: OpenApiResponse(StepProgressSerializer, description="The status as it is now."),
            **error_responses(400, 403, 404, 413, 415),
        },
    )
    def put(self, request: Request, step_id: int) -> Response:
        """Set the learner's status on a step. Idempotent: the same PUT again records
        nothing new. The first change in a track enrolls the learner in it."""
        step = _published_step(step_id)
        data = StepStatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        step_status_set(
            user=request_learner(request),
            step=step,
            status=data.validated_data["status"],
            source=Source.API,
        )
        return Response(
            StepProgressSerializer(step_progress_get(user=request_learner(request), step=step)).data
        )


class SyncApi(APIView):
    throttle_classes = [*APIView.throttle_classes, SyncRateThrottle]

    @extend_schema(
        operation_id="progress_sync",
        summary="Sync changes made offline",
        request=SyncInputSerializer,
        responses={
            200: OpenApiResponse(
                SyncResultSerializer, description="One result per operation, and the statuses."
            ),
            **error_responses(400, 403, 413, 415),
        },
        examples=[_SYNC_REQUEST, _SYNC_RESULT],
    )
    def post(self, request: Request) -> Response:
        """Apply changes queued offline, last write (by ``occurred_at``) wins.

        The envelope is checked whole first (400 and nothing applied if any operation is
        malformed); then each operation gets its own result:

        - ``applied``: it holds now (``changed`` says whether the status moved);
        - ``stale``: the server holds a later change of the step, which stays;
        - ``duplicate``: the server took this ``op_id`` before (applied or stale, in an
          earlier sync or earlier in this one) with the same step, status and time; nothing
          is done, whatever happened since. A whole batch can be sent again safely;
        - ``rejected``, with a ``reason`` and a ``message``: ``unknown_status``,
          ``unknown_step``, ``future_timestamp`` (beyond the allowed clock skew), or
          ``op_id_reused`` (this ``op_id`` was taken before for another change: give every
          change its own). A rejected operation is not taken: its ``op_id`` stays free."""
        data = SyncInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        operations = [
            SyncOperation(
                op_id=str(op["op_id"]),
                step_id=op["step"],
                status=op["status"],
                occurred_at=op["occurred_at"],
            )
            for op in data.validated_data["operations"]
        ]
        result = progress_sync(user=request_learner(request), operations=operations)
        return Response(SyncResultSerializer(result).data)


class ChangesApi(APIView):
    @extend_schema(
        operation_id="progress_changes",
        summary="Read my status changes since a cursor",
        parameters=[ChangesQuerySerializer],
        responses={
            200: OpenApiResponse(
                ProgressChangesSerializer, description="Changes after the cursor, oldest first."
            ),
            **error_responses(400),
        },
    )
    def get(self, request: Request) -> Response:
        """The learner's status changes from every device (web, apps, admin) after the
        cursor ``since``, oldest first; repeat with the returned cursor while ``has_more``."""
        query = ChangesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        changes = progress_changes_since(
            user=request_learner(request),
            cursor=query.validated_data["since"],
            limit=settings.API_CHANGES_PAGE_SIZE,
        )
        return Response(ProgressChangesSerializer(changes).data)


class StepNoteApi(APIView):
    @extend_schema(
        operation_id="progress_step_note_retrieve",
        summary="Read my note on a step",
        parameters=[_STEP_ID],
        responses={
            200: OpenApiResponse(StepNoteSerializer, description="The note (empty if none)."),
            **error_responses(404),
        },
    )
    def get(self, request: Request, step_id: int) -> Response:
        """The learner's private note and links on a step (empty when they keep none).
        Nobody else can read it."""
        step = _published_step(step_id)
        note = step_note_for(user_id=request_learner(request).pk, step_id=step.pk)
        empty = {"step_id": step.pk, "body": "", "links": [], "updated_at": None}
        return Response(StepNoteSerializer(note if note is not None else empty).data)

    @extend_schema(
        operation_id="progress_step_note_update",
        summary="Keep my note on a step",
        parameters=[_STEP_ID],
        request=StepNoteInputSerializer,
        responses={
            200: OpenApiResponse(StepNoteSerializer, description="The note as kept."),
            **error_responses(400, 404, 413, 415),
        },
    )
    def put(self, request: Request, step_id: int) -> Response:
        """Keep the learner's note and links on a step, replacing the earlier ones. An
        empty body with no links clears it. Past a limit: 400 saying which, nothing saved."""
        step = _published_step(step_id)
        data = StepNoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = step_note_set(
            user=request_learner(request),
            step=step,
            body=data.validated_data["body"],
            links=data.validated_data["links"],
        )
        return Response(StepNoteSerializer(note).data)


class SuggestionsApi(APIView):
    @extend_schema(
        operation_id="progress_suggestions",
        summary="Steps I finished elsewhere",
        responses={
            200: OpenApiResponse(SuggestionsSerializer, description="Steps to mark done here."),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        """What the learner may want to mark: steps of the tracks they follow whose
        primary resource they already finished in another track."""
        offers = done_elsewhere_for(user_id=request_learner(request).pk)
        return Response(SuggestionsSerializer({"done_elsewhere": offers}).data)


class TrackBulkApi(APIView):
    @extend_schema(
        operation_id="progress_track_bulk",
        summary="Mark a whole track done, or reset it",
        parameters=[
            OpenApiParameter("slug", str, OpenApiParameter.PATH, description="A track's slug.")
        ],
        request=BulkActionInputSerializer,
        responses={
            201: OpenApiResponse(BulkActionSerializer, description="The action, done now."),
            200: OpenApiResponse(BulkActionSerializer, description="The key was seen before."),
            **error_responses(400, 404, 413, 415),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        """Mark every current step of a track done, or reset them all to do, as one
        action that ``POST /progress/bulk/{id}/undo/`` undoes. Idempotent by key. Its
        changes show in ``/progress/changes/``; they do not count as study (streaks)."""
        track = track_published_get(slug=slug)
        if track is None:
            raise NotFound(f"There is no published track {slug!r}.")
        data = BulkActionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = track_bulk_set(
            user=request_learner(request),
            track=track,
            kind=data.validated_data["action"],
            source=Source.API,
            idempotency_key=data.validated_data["idempotency_key"],
        )
        return Response(
            BulkActionSerializer(result.action).data, status=200 if result.replayed else 201
        )


class BulkUndoApi(APIView):
    @extend_schema(
        operation_id="progress_bulk_undo",
        summary="Undo a mark-all or reset",
        parameters=[
            OpenApiParameter("action_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
        ],
        request=None,
        responses={
            201: OpenApiResponse(BulkActionSerializer, description="The undo, done now."),
            200: OpenApiResponse(BulkActionSerializer, description="Undone before."),
            **error_responses(404),
        },
    )
    def post(self, request: Request, action_id: str) -> Response:
        """Undo one of the learner's bulk actions: every step it changed goes back, unless
        changed since. Undoing again returns the first undo."""
        learner = request_learner(request)
        action = bulk_action_for(user_id=learner.pk, action_id=str(action_id))
        if action is None or action.kind == BulkAction.Kind.UNDO:
            raise NotFound("You have no mark-all or reset with this id.")
        result = bulk_action_undo(user=learner, action=action, source=Source.API)
        return Response(
            BulkActionSerializer(result.action).data, status=200 if result.replayed else 201
        )

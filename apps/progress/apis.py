"""A learner's progress for the mobile apps: dashboard, one step, offline sync, changes."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.content.models import Step
from apps.core.api.auth import request_learner
from apps.core.api.errors import error_responses
from apps.core.api.throttles import SyncRateThrottle
from apps.progress.models import Source
from apps.progress.selectors import (
    learner_dashboard,
    progress_changes_since,
    published_step_get,
    step_progress_get,
)
from apps.progress.serializers import (
    ChangesQuerySerializer,
    DashboardSerializer,
    ProgressChangesSerializer,
    StepProgressSerializer,
    StepStatusInputSerializer,
    SyncInputSerializer,
    SyncResultSerializer,
)
from apps.progress.services import SyncOperation, progress_sync, step_status_set

_STEP_ID = OpenApiParameter("step_id", int, OpenApiParameter.PATH, description="A step's id.")


class DashboardApi(APIView):
    @extend_schema(
        operation_id="progress_dashboard", responses={200: DashboardSerializer, **error_responses()}
    )
    def get(self, request: Request) -> Response:
        """The learner's dashboard: enrollments with completion and next step, streak,
        activity per day (last 12 weeks) and recently completed steps."""
        return Response(DashboardSerializer(learner_dashboard(user=request_learner(request))).data)


class StepProgressApi(APIView):
    def _step(self, step_id: int) -> Step:
        step = published_step_get(step_id=step_id)
        if step is None:
            raise NotFound(f"There is no published step with id {step_id}.")
        return step

    @extend_schema(
        operation_id="progress_step_retrieve",
        parameters=[_STEP_ID],
        responses={200: StepProgressSerializer, **error_responses(404)},
    )
    def get(self, request: Request, step_id: int) -> Response:
        """The learner's status on one step (to do when never touched)."""
        step = self._step(step_id)
        return Response(
            StepProgressSerializer(step_progress_get(user=request_learner(request), step=step)).data
        )

    @extend_schema(
        operation_id="progress_step_update",
        parameters=[_STEP_ID],
        request=StepStatusInputSerializer,
        responses={200: StepProgressSerializer, **error_responses(400, 403, 404, 413, 415)},
    )
    def put(self, request: Request, step_id: int) -> Response:
        """Set the learner's status on a step. Idempotent: the same PUT again records
        nothing new. The first change in a track enrolls the learner in it."""
        step = self._step(step_id)
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
        request=SyncInputSerializer,
        responses={200: SyncResultSerializer, **error_responses(400, 403, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        """Apply changes queued offline, last write (by ``occurred_at``) wins.

        The envelope is checked whole first (400 and nothing applied if any operation is
        malformed); then each operation gets its own result: ``applied``, ``stale`` (the
        server holds a later change), ``duplicate`` (``op_id`` seen before) or ``rejected``
        with a reason (unknown status or step, time too far in the future)."""
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
        parameters=[ChangesQuerySerializer],
        responses={200: ProgressChangesSerializer, **error_responses(400)},
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

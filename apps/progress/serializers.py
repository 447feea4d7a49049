"""API representations of a learner's progress, and the input of status changes and sync."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from apps.core.api.fields import (
    QueryParamsSerializer,
    StrictCharField,
    StrictIntegerField,
    StrictUUIDField,
)
from apps.progress.models import BulkAction, Source, Status

# Ids are 64-bit: a larger number cannot name anything and must not reach the database.
MAX_ID = 2**63 - 1

STATUS_ERRORS: dict[str, Any] = {
    "invalid_choice": f'"{{input}}" is not a step status; use one of {", ".join(Status.values)}.'
}


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO-8601 time that must say its offset: a device's local time alone is ambiguous."""

    default_error_messages = {
        "naive": "Include the time zone offset (for example 2025-01-31T18:30:00+01:00 or ...Z)."
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


# --- the dashboard ------------------------------------------------------------------------


class TrackRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    slug = serializers.CharField()
    title = serializers.CharField()


class NextStepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    estimated_minutes = serializers.IntegerField()
    position = serializers.IntegerField()


class EnrollmentSummarySerializer(serializers.Serializer):
    track = TrackRefSerializer()
    started_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    steps_done = serializers.IntegerField(source="completion.steps_done")
    steps_total = serializers.IntegerField(source="completion.steps_total")
    required_done = serializers.IntegerField(source="completion.required_done")
    required_total = serializers.IntegerField(source="completion.required_total")
    percent = serializers.IntegerField(source="completion.percent")
    remaining_minutes = serializers.IntegerField(
        source="completion.remaining_minutes", help_text="Time left on required steps."
    )
    next_step = NextStepSerializer(allow_null=True)


class StreakSerializer(serializers.Serializer):
    current = serializers.IntegerField()
    longest = serializers.IntegerField()
    active_today = serializers.BooleanField()
    at_risk = serializers.BooleanField()


class ActivityDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    count = serializers.IntegerField()


class RecentCompletionSerializer(serializers.Serializer):
    step_id = serializers.IntegerField()
    step_title = serializers.CharField()
    track_slug = serializers.CharField()
    track_title = serializers.CharField()
    completed_at = serializers.DateTimeField(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    today = serializers.DateField(help_text="The learner's local date.")
    enrollments = EnrollmentSummarySerializer(many=True)
    streak = StreakSerializer()
    last_activity_at = serializers.SerializerMethodField()
    activity = ActivityDaySerializer(many=True)
    recent = RecentCompletionSerializer(many=True)

    def get_last_activity_at(self, dashboard: Any) -> datetime | None:
        times = [e.last_activity_at for e in dashboard.enrollments]
        return max(times) if times else None


# --- one step -------------------------------------------------------------------------------


class StepStatusInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, error_messages=STATUS_ERRORS)


class StepProgressSerializer(serializers.Serializer):
    step = serializers.IntegerField(source="step_id")
    track = serializers.CharField(source="track_slug", help_text="The track's slug.")
    status = serializers.ChoiceField(choices=Status.choices)
    status_changed_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


# --- offline sync ---------------------------------------------------------------------------


class SyncOperationSerializer(serializers.Serializer):
    op_id = StrictUUIDField(
        help_text="Unique per change. Sent again with the same change, it is a duplicate "
        "and changes nothing; with another change, it is rejected (op_id_reused)."
    )
    step = StrictIntegerField(min_value=1, max_value=MAX_ID)
    # Well-formed but unknown values (a newer app's status?) are rejected per operation.
    status = StrictCharField(
        max_length=32,
        validators=[RegexValidator(r"^[a-z_]+$", message="A status is lowercase letters and _.")],
        help_text=f"One of {', '.join(Status.values)}; others are rejected per operation.",
    )
    occurred_at = AwareDateTimeField(help_text="When the change happened on the device.")


class SyncInputSerializer(serializers.Serializer):
    operations = SyncOperationSerializer(
        many=True,
        allow_empty=True,
        help_text="At most API_SYNC_MAX_OPERATIONS (500) changes.",
    )

    def to_internal_value(self, data: Any) -> Any:
        # Count before validating each one: a huge list is refused without the work.
        limit = settings.API_SYNC_MAX_OPERATIONS
        if isinstance(data, Mapping):
            operations = data.get("operations")
            if isinstance(operations, list) and len(operations) > limit:
                raise serializers.ValidationError(
                    {"operations": [f"At most {limit} operations per sync; send the rest next."]}
                )
        return super().to_internal_value(data)


class SyncOperationResultSerializer(serializers.Serializer):
    op_id = serializers.UUIDField()
    result = serializers.ChoiceField(choices=["applied", "stale", "duplicate", "rejected"])
    step = serializers.IntegerField(source="step_id")
    changed = serializers.BooleanField(help_text="Applied and the status changed.")
    reason = serializers.ChoiceField(
        choices=["unknown_status", "unknown_step", "future_timestamp", "op_id_reused"],
        allow_null=True,
    )
    message = serializers.CharField(allow_null=True)


class SyncedStatusSerializer(serializers.Serializer):
    step = serializers.IntegerField(source="step_id")
    status = serializers.ChoiceField(choices=Status.choices)
    status_changed_at = serializers.DateTimeField(allow_null=True)


class SyncResultSerializer(serializers.Serializer):
    results = SyncOperationResultSerializer(many=True, help_text="One per operation, in order.")
    statuses = SyncedStatusSerializer(many=True)
    cursor = serializers.IntegerField(help_text="For GET progress/changes/?since=.")


# --- changes --------------------------------------------------------------------------------


class ChangesQuerySerializer(QueryParamsSerializer):
    since = StrictIntegerField(
        min_value=0, max_value=MAX_ID, default=0, help_text="The cursor you hold; 0 for all."
    )


class ProgressChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    step = serializers.IntegerField(source="step_id")
    track = serializers.CharField(source="track_slug")
    from_status = serializers.ChoiceField(choices=Status.choices)
    to_status = serializers.ChoiceField(choices=Status.choices)
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=Source.choices)  # type: ignore[assignment]


class ProgressChangesSerializer(serializers.Serializer):
    changes = ProgressChangeSerializer(many=True)
    cursor = serializers.IntegerField()
    has_more = serializers.BooleanField()


# --- notes, done elsewhere, bulk actions ---------------------------------------------------


class StepNoteSerializer(serializers.Serializer):
    step = serializers.IntegerField(source="step_id")
    body = serializers.CharField(
        allow_blank=True, help_text="The learner's private note, Markdown (rendered sanitized)."
    )
    links = serializers.ListField(child=serializers.URLField(), help_text="Their own links.")
    updated_at = serializers.DateTimeField(
        allow_null=True, help_text="Null when the learner never kept a note on this step."
    )


class StepNoteInputSerializer(serializers.Serializer):
    body = StrictCharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text=f"Markdown, at most {settings.STEPWISE_NOTE_MAX_CHARS:,} characters by default "
        "(STEPWISE_NOTE_MAX_CHARS); empty, with no links, clears the note.",
    )
    links = serializers.ListField(
        child=StrictCharField(),
        required=False,
        default=list,
        help_text="http(s) URLs, at most STEPWISE_NOTE_MAX_LINKS (20 by default).",
    )


class DoneElsewhereSerializer(serializers.Serializer):
    step = serializers.IntegerField(source="step_id")
    step_key = serializers.CharField()
    step_title = serializers.CharField()
    track = serializers.CharField(source="track_slug", help_text="The step's track (slug).")
    track_title = serializers.CharField()
    resource = serializers.IntegerField(source="resource_id", help_text="The shared resource.")
    resource_title = serializers.CharField()
    done_in = serializers.CharField(
        source="done_in_slug", help_text="The track where the learner finished it (slug)."
    )
    done_in_title = serializers.CharField()


class SuggestionsSerializer(serializers.Serializer):
    done_elsewhere = DoneElsewhereSerializer(
        many=True,
        help_text="Steps of the learner's tracks whose primary resource they finished in "
        "another track; mark one done with PUT /progress/steps/{id}/. Never applied by itself.",
    )


class BulkActionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[BulkAction.Kind.MARK_DONE, BulkAction.Kind.RESET],
        help_text="mark_done: every current step of the track done; reset: every step to do.",
    )
    idempotency_key = StrictCharField(
        max_length=64,
        help_text="Client-chosen; the same key again returns the first action, changing nothing.",
    )


class BulkActionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=BulkAction.Kind.choices)
    track = serializers.CharField(source="track.slug")
    steps_changed = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    undoes = serializers.UUIDField(
        source="undoes_id", allow_null=True, help_text="For an undo: the action it undid."
    )

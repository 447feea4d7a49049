"""API representations of the learner's own account."""

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.content.models import ChoiceGroup, Resource, Step, StepResource, Track
from apps.core.api.fields import QueryParamsSerializer, StrictCharField, StrictIntegerField
from apps.progress.models import Status
from apps.reminders.models import Frequency, Weekday

# The shape of an IANA time zone name (Europe/Paris, America/Argentina/Buenos_Aires, UTC,
# Etc/GMT+5): the schema says it, the input is checked against it, then against the list
# of zones (not an enum in the schema: the list changes with the tz database installed).
TIMEZONE_NAME = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$",
    message="Use an IANA time zone name such as Europe/Paris.",
)
TIMEZONE_HELP = "IANA time zone name, e.g. Europe/Paris."


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField()
    timezone = serializers.CharField(
        min_length=1, max_length=64, validators=[TIMEZONE_NAME], help_text=TIMEZONE_HELP
    )
    date_joined = serializers.DateTimeField(read_only=True)
    reminder_frequency = serializers.ChoiceField(choices=Frequency.choices)
    reminder_weekday = serializers.ChoiceField(
        choices=Weekday.choices, help_text="0 = Monday ... 6 = Sunday."
    )
    reminder_hour = serializers.IntegerField(
        allow_null=True, help_text="Local hour 0-23; null means when I usually study."
    )
    weekly_goal = serializers.IntegerField(allow_null=True, help_text="Steps per week.")


class MeUpdateSerializer(serializers.Serializer):
    """All fields optional: send only what changes."""

    display_name = StrictCharField(required=False, allow_blank=True, max_length=100)
    timezone = StrictCharField(
        required=False, max_length=64, validators=[TIMEZONE_NAME], help_text=TIMEZONE_HELP
    )
    reminder_frequency = serializers.ChoiceField(choices=Frequency.choices, required=False)
    reminder_weekday = StrictIntegerField(
        required=False, min_value=0, max_value=6, help_text="0 = Monday ... 6 = Sunday."
    )
    reminder_hour = StrictIntegerField(required=False, allow_null=True, min_value=0, max_value=23)
    weekly_goal = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=settings.REMINDERS_WEEKLY_GOAL_MAX
    )


class ExportProfileSerializer(serializers.Serializer):
    email = serializers.EmailField()
    display_name = serializers.CharField()
    timezone = serializers.CharField()
    date_joined = serializers.DateTimeField(allow_null=True)


class ExportEnrollmentSerializer(serializers.Serializer):
    track = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)


class ExportStepStatusSerializer(serializers.Serializer):
    track = serializers.CharField()
    step = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class ExportEventSerializer(serializers.Serializer):
    track = serializers.CharField()
    step = serializers.CharField()
    # "from" is a Python keyword: declared below under its real name.
    to = serializers.CharField()
    occurred_at = serializers.DateTimeField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]
    bulk_action = serializers.CharField(
        allow_null=True, help_text="The bulk action (mark all done, reset, undo) it was part of."
    )


ExportEventSerializer._declared_fields["from"] = serializers.CharField()


class ExportNoteSerializer(serializers.Serializer):
    track = serializers.CharField()
    step = serializers.CharField()
    body = serializers.CharField(help_text="Markdown, as the learner wrote it.")
    links = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField(allow_null=True)


class ExportBulkActionSerializer(serializers.Serializer):
    id = serializers.CharField()
    track = serializers.CharField()
    kind = serializers.CharField()
    undoes = serializers.CharField(allow_null=True)
    steps_changed = serializers.IntegerField()
    created_at = serializers.DateTimeField(allow_null=True)


class ExportSyncOperationSerializer(serializers.Serializer):
    op_id = serializers.CharField(help_text="The operation's id, as the device sent it.")
    step_id = serializers.IntegerField(help_text="The step's id, as the device sent it.")
    status = serializers.CharField()
    occurred_at = serializers.DateTimeField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)


class ExportPublicPageSerializer(serializers.Serializer):
    handle = serializers.CharField()
    public = serializers.BooleanField()
    tracks = serializers.ListField(child=serializers.CharField(), help_text="Track slugs shown.")
    updated_at = serializers.DateTimeField(allow_null=True)


class ExportCalendarFeedSerializer(serializers.Serializer):
    created_at = serializers.DateTimeField(allow_null=True)


class ExportTrackVisitSerializer(serializers.Serializer):
    track = serializers.CharField()
    seen_change = serializers.IntegerField(
        help_text="The last change to the track the learner was shown."
    )
    seen_at = serializers.DateTimeField(allow_null=True)


class ExportSerializer(serializers.Serializer):
    """Everything Stepwise holds about the learner (as ``user_data_export`` returns it)."""

    profile = ExportProfileSerializer()
    enrollments = ExportEnrollmentSerializer(many=True)
    step_statuses = ExportStepStatusSerializer(many=True)
    events = ExportEventSerializer(many=True)
    notes = ExportNoteSerializer(many=True)
    bulk_actions = ExportBulkActionSerializer(many=True)
    sync_operations = ExportSyncOperationSerializer(
        many=True,
        help_text="Every offline operation taken from the learner's devices (applied or "
        "stale): kept so that a replay is always answered duplicate.",
    )
    public_page = ExportPublicPageSerializer(allow_null=True)
    calendar_feed = ExportCalendarFeedSerializer(
        allow_null=True, help_text="Whether a calendar link is on (its token is never kept)."
    )
    track_visits = ExportTrackVisitSerializer(many=True)


class TrackFilterSerializer(QueryParamsSerializer):
    """Query parameters of the track list."""

    # Empty means no filter, as a form that sends every field would have it.
    level = serializers.ChoiceField(choices=Track.Level.choices, required=False, allow_blank=True)
    goal = StrictCharField(
        required=False, allow_blank=True, max_length=100, help_text="Exact goal."
    )
    search = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=settings.API_SEARCH_MAX_LENGTH,
        help_text="Words in the track's title, summary or goal.",
    )
    # Read by the paginator; declared so they are validated and documented.
    cursor = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=200,
        # DRF's cursors are base64: anything else cannot be one.
        validators=[RegexValidator(r"^[A-Za-z0-9+/]*={0,2}$", message="Invalid cursor.")],
        help_text="Opaque: copy it from a page's next or previous link, never build or "
        "change one; it is only valid with the same filters.",
    )
    page_size = StrictIntegerField(
        required=False, min_value=1, max_value=settings.API_TRACKS_MAX_PAGE_SIZE
    )


class TrackSerializer(serializers.ModelSerializer):
    step_count = serializers.IntegerField(read_only=True)
    total_minutes = serializers.IntegerField(read_only=True)
    learner_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Track
        fields = [
            "id",
            "slug",
            "title",
            "summary",
            "level",
            "goal",
            "step_count",
            "total_minutes",
            "learner_count",
            "updated_at",
        ]
        # Blank is allowed in the model, but the key is always in the answer.
        extra_kwargs = {name: {"required": True} for name in ("summary", "level", "goal")}


class TrackPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page; null on the last.")
    previous = serializers.URLField(allow_null=True)
    results = TrackSerializer(many=True)


class StepRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Step
        fields = ["id", "key", "title"]


class GroupRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChoiceGroup
        fields = ["id", "key", "title"]


class ChoiceGroupSerializer(serializers.Serializer):
    """A choice group: complete when ``required`` of its steps are done."""

    id = serializers.IntegerField(source="group.id")
    key = serializers.CharField(source="group.key")
    title = serializers.CharField(source="group.title")
    description = serializers.CharField(source="group.description", help_text="Markdown.")
    required = serializers.IntegerField(  # type: ignore[assignment]
        min_value=1, help_text="How many of its steps complete the group (1: choose one)."
    )
    steps = StepRefSerializer(many=True, help_text="Its steps, in track order.")


class StepResourceSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="resource.id")
    url = serializers.URLField(source="resource.url")
    title = serializers.CharField(source="resource.title")
    kind = serializers.ChoiceField(source="resource.kind", choices=Resource.Kind.choices)
    provider = serializers.CharField(source="resource.provider")
    cost = serializers.ChoiceField(source="resource.cost", choices=Resource.Cost.choices)
    duration = serializers.CharField(source="resource.duration")
    language = serializers.CharField(source="resource.language")

    class Meta:
        model = StepResource
        fields = ["id", "url", "title", "kind", "provider", "cost", "duration", "language", "note"]
        extra_kwargs = {"note": {"required": True}}  # blank allowed, always sent


class StepSerializer(serializers.ModelSerializer):
    # Declared, not derived from the model: the derived bounds depend on the database
    # backend, and the committed schema must not.
    position = serializers.IntegerField(min_value=0)
    estimated_minutes = serializers.IntegerField(min_value=1)
    prerequisites = StepRefSerializer(many=True)
    prerequisite_groups = GroupRefSerializer(
        many=True, help_text="Choice groups to complete before this step."
    )
    group = GroupRefSerializer(
        allow_null=True, help_text="The choice group this step is an alternative in, if any."
    )
    resources = StepResourceSerializer(source="step_resources", many=True)
    status = serializers.SerializerMethodField(
        help_text="The signed-in learner's status; null when anonymous."
    )

    class Meta:
        model = Step
        fields = [
            "id",
            "key",
            "position",
            "title",
            "description",
            "estimated_minutes",
            "is_optional",
            "group",
            "prerequisites",
            "prerequisite_groups",
            "resources",
            "status",
        ]
        extra_kwargs = {name: {"required": True} for name in ("description", "is_optional")}

    @extend_schema_field(serializers.ChoiceField(choices=Status.choices, allow_null=True))
    def get_status(self, step: Step) -> str | None:
        statuses: dict[int, str] | None = self.context.get("statuses")
        return None if statuses is None else statuses.get(step.pk, Status.TODO)


class TrackProgressSerializer(serializers.Serializer):
    steps_done = serializers.IntegerField()
    steps_total = serializers.IntegerField()
    required_done = serializers.IntegerField()
    required_total = serializers.IntegerField()
    required_skipped = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    percent = serializers.IntegerField(
        help_text="Done required steps, of those not skipped; a choice group counts as the "
        "number of its steps it requires."
    )
    remaining_minutes = serializers.IntegerField()


class TrackDetailSerializer(TrackSerializer):
    description = serializers.CharField(help_text="Markdown.")
    steps = serializers.SerializerMethodField()
    groups = serializers.SerializerMethodField(
        help_text="The track's choice groups, in the order of their first step."
    )
    progress = serializers.SerializerMethodField(
        help_text="The signed-in learner's progress; null when anonymous."
    )

    class Meta(TrackSerializer.Meta):
        fields = [*TrackSerializer.Meta.fields, "description", "steps", "groups", "progress"]

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, track: Track) -> Any:
        # Serialized by the view (and cached per content revision), statuses filled in.
        return self.context["steps_data"]

    @extend_schema_field(ChoiceGroupSerializer(many=True))
    def get_groups(self, track: Track) -> Any:
        # Serialized by the view with the steps, and cached with them.
        return self.context["groups_data"]

    @extend_schema_field(TrackProgressSerializer(allow_null=True))
    def get_progress(self, track: Track) -> Any:
        completion = self.context.get("completion")
        return None if completion is None else TrackProgressSerializer(completion).data


class PaceSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(
        help_text="Estimated minutes of the steps finished one by one in the last `days` days."
    )
    steps = serializers.IntegerField(help_text="How many steps those were.")
    days = serializers.IntegerField()
    enough_history = serializers.BooleanField(
        help_text="False when too few steps were finished to estimate a finish date."
    )


class WeeklySerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Steps marked done in the last seven days.")
    goal = serializers.IntegerField(
        allow_null=True, help_text="The learner's weekly goal; null when they set none."
    )


class TrackFinishSerializer(serializers.Serializer):
    track = serializers.CharField(help_text="The track's slug.")
    remaining_minutes = serializers.IntegerField()
    finish_on = serializers.DateField(
        allow_null=True,
        help_text="At the learner's pace; today when nothing is left; null with too little "
        "history.",
    )


class PaceReportSerializer(serializers.Serializer):
    pace = PaceSerializer()
    weekly = WeeklySerializer()
    tracks = TrackFinishSerializer(many=True)

"""API representations of the learner's own account."""

from django.conf import settings
from rest_framework import serializers

from apps.core.api.fields import StrictCharField, StrictIntegerField
from apps.reminders.models import Frequency, Weekday


class MeSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField()
    timezone = serializers.CharField(help_text="IANA time zone name, e.g. Europe/Paris.")
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
        required=False, max_length=64, help_text="IANA time zone name, e.g. Europe/Paris."
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
    date_joined = serializers.CharField(allow_null=True)


class ExportEnrollmentSerializer(serializers.Serializer):
    track = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    last_activity_at = serializers.CharField(allow_null=True)


class ExportStepStatusSerializer(serializers.Serializer):
    track = serializers.CharField()
    step = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    completed_at = serializers.CharField(allow_null=True)


class ExportEventSerializer(serializers.Serializer):
    track = serializers.CharField()
    step = serializers.CharField()
    # "from" is a Python keyword: declared below under its real name.
    to = serializers.CharField()
    occurred_at = serializers.CharField(allow_null=True)
    recorded_at = serializers.CharField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]


ExportEventSerializer._declared_fields["from"] = serializers.CharField()


class ExportSerializer(serializers.Serializer):
    """Everything Stepwise holds about the learner (as ``user_data_export`` returns it)."""

    profile = ExportProfileSerializer()
    enrollments = ExportEnrollmentSerializer(many=True)
    step_statuses = ExportStepStatusSerializer(many=True)
    events = ExportEventSerializer(many=True)

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class Frequency(models.TextChoices):
    OFF = "off", "Off"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def validate_weekly_goal(value: int) -> None:
    limit = settings.REMINDERS_WEEKLY_GOAL_MAX
    if value > limit:
        raise ValidationError(f"A weekly goal is at most {limit} steps.", code="max_value")


class ReminderPreferences(models.Model):
    """When (and whether) a learner wants to be reminded. No row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_preferences"
    )
    reminder_frequency = models.CharField(
        max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    reminder_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        validators=[MaxValueValidator(6)],
        help_text="For weekly reminders (and the last day of the weekly goal's week).",
    )
    reminder_hour = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(23)],
        help_text='Local hour 0-23; empty means "when I usually study".',
    )
    weekly_goal = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), validate_weekly_goal],
        help_text="Steps per week (optional).",
    )
    # The local hour this learner most often made progress at lately (refreshed daily).
    usual_hour = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    usual_hour_computed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The learner asked to keep reminders on after they paused: counting starts again here.
    kept_on_at = models.DateTimeField(null=True, blank=True, editable=False)
    unsubscribed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "reminder preferences"
        verbose_name_plural = "reminder preferences"
        constraints = [
            models.CheckConstraint(
                condition=Q(reminder_frequency__in=Frequency.values),
                name="reminder_frequency_valid",
            ),
            models.CheckConstraint(
                condition=Q(reminder_weekday__gte=0, reminder_weekday__lte=6),
                name="reminder_weekday_valid",
            ),
            models.CheckConstraint(
                condition=Q(reminder_hour__isnull=True)
                | Q(reminder_hour__gte=0, reminder_hour__lte=23),
                name="reminder_hour_valid",
            ),
            models.CheckConstraint(
                condition=Q(weekly_goal__isnull=True) | Q(weekly_goal__gte=1),
                name="reminder_weekly_goal_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Reminders for {self.user_id}: {self.reminder_frequency}"

    @property
    def effective_hour(self) -> int:
        """The local hour reminders go out at."""
        if self.reminder_hour is not None:
            return self.reminder_hour
        if self.usual_hour is not None:
            return self.usual_hour
        return int(settings.REMINDERS_DEFAULT_HOUR)


class DeliveryKind(models.TextChoices):
    REMINDER = "reminder", "Reminder"
    GOAL = "goal", "Weekly goal nudge"
    PAUSED = "paused", "Reminders paused"
    TEST = "test", "Test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    #: Not sent on purpose (the learner turned reminders off after it was decided).
    SKIPPED = "skipped", "Skipped"


#: Statuses of deliveries that never reached the learner: they count for nothing.
UNDELIVERED = (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)


class ReminderDelivery(models.Model):
    """One email decided for one learner in one window: the row makes it happen once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_deliveries"
    )
    kind = models.CharField(max_length=8, choices=DeliveryKind.choices)
    # The learner's local date of the reminder (a test uses its exact time).
    window = models.CharField(max_length=40)
    # The moment the reminder was due (the start of the beat window that picked it).
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    steps_to_goal = models.PositiveSmallIntegerField(null=True, blank=True)
    # The selection run that created the row (two racing runs each send only their own).
    run_id = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    # The send task holding the row while it sends.
    claim_id = models.UUIDField(null=True, blank=True, editable=False)
    # When a send task claimed the row; while pending, when it was last handed to one.
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "reminder deliveries"
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "window"], name="reminder_delivery_once_per_window"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "due_at"]),
            models.Index(fields=["status", "claimed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.user_id} ({self.window}): {self.status}"


class BeatScheduleSync(models.Model):
    """The window a beat task's schedule was last written for, from settings.

    ``beat_schedules_sync`` compares it with the setting: the same (a curator may have
    edited the schedule in admin since) and the schedule is left alone; different (the
    setting changed) and the schedule is rewritten to match it.
    """

    task = models.CharField(max_length=200, unique=True, help_text="The Celery task name.")
    window_minutes = models.PositiveIntegerField()
    synced_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.task}: every {self.window_minutes} minutes"

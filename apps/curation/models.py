"""Pre-aggregated figures of the curator dashboard.

The dashboard reads only these tables (a handful of rows per track, step, resource and
week), so its cost does not grow with learners or events. ``services.curation_refresh``
fills them, incrementally from ``RefreshState``'s marks.
"""

from django.conf import settings
from django.db import models

from apps.content.models import Resource, Step, Track


class RefreshState(models.Model):
    """One row: how far the last refresh read each source, and when it ran."""

    last_event_id = models.BigIntegerField(default=0)
    last_delivery_id = models.BigIntegerField(default=0)
    last_user_id = models.BigIntegerField(default=0)
    last_change_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    full_refreshed_at = models.DateTimeField(null=True, blank=True)
    #: What the last run recomputed, for the page and the command's output.
    tracks_refreshed = models.PositiveIntegerField(default=0)
    weeks_refreshed = models.PositiveIntegerField(default=0)
    events_read = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "dashboard refresh"

    def __str__(self) -> str:
        return f"refreshed at {self.refreshed_at}"


class LearnerTrackActivity(models.Model):
    """A learner's latest study change (bulk actions left out) in one track: the active
    counts read this, one row per enrollment, instead of every event."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    last_study_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "learner track activity"
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="curation_activity_unique"),
        ]
        indexes = [models.Index(fields=["track", "last_study_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.track_id}: {self.last_study_at}"


class TrackStats(models.Model):
    track = models.OneToOneField(
        Track, on_delete=models.CASCADE, primary_key=True, related_name="curation_stats"
    )
    enrolled = models.PositiveIntegerField(default=0)
    active_7d = models.PositiveIntegerField("active in 7 days", default=0)
    active_30d = models.PositiveIntegerField("active in 30 days", default=0)
    completed = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "track stats"

    def __str__(self) -> str:
        return f"stats of {self.track_id}"


class StepStats(models.Model):
    """The funnel of one current step: learners who reached it (any status but to do),
    finished it, skipped it, or stall on it (in progress)."""

    step = models.OneToOneField(
        Step, on_delete=models.CASCADE, primary_key=True, related_name="curation_stats"
    )
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    reached = models.PositiveIntegerField(default=0)
    finished = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    stalled = models.PositiveIntegerField(default=0)
    #: Median seconds from finishing the previous current step to finishing this one, over
    #: the learners who finished both in that order; None when nobody did.
    median_gap_seconds = models.PositiveIntegerField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "step stats"

    def __str__(self) -> str:
        return f"stats of {self.step_id}"


class ResourceStats(models.Model):
    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, primary_key=True, related_name="curation_stats"
    )
    steps = models.PositiveIntegerField(default=0)
    tracks = models.PositiveIntegerField(default=0)
    #: Summed over the current steps the resource serves.
    reached = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    reports = models.PositiveIntegerField(default=0)
    open_reports = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "resource stats"

    def __str__(self) -> str:
        return f"stats of {self.resource_id}"

    @property
    def skip_percent(self) -> int | None:
        return self.skipped * 100 // self.reached if self.reached else None


class WeekStats(models.Model):
    """Site-wide figures of one week (UTC, starting Monday)."""

    week = models.DateField(primary_key=True)
    new_learners = models.PositiveIntegerField(default=0)
    active_learners = models.PositiveIntegerField(default=0)
    steps_completed = models.PositiveIntegerField(default=0)
    reminders_sent = models.PositiveIntegerField(default=0)
    #: Of the reminders sent, those whose learner made a study change in the next
    #: CURATION_PROGRESS_WINDOW_HOURS.
    reminded_progressed = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["week"]
        verbose_name_plural = "week stats"

    def __str__(self) -> str:
        return f"week of {self.week}"

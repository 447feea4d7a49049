from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.content.models import Step, Track


class Status(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class Source(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "API"
    ADMIN = "admin", "Admin"


class Enrollment(models.Model):
    """A learner follows a track from their first change in it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="enrollments")
    started_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_activity_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="enrollment_unique"),
        ]
        indexes = [models.Index(fields=["user", "-last_activity_at"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.track}"


class StepProgress(models.Model):
    """Where one learner stands on one step. Absent means to do."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="step_progress"
    )
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="progress")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TODO)
    # When the latest change happened on the client; offline sync compares against it.
    status_changed_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "step progress"
        constraints = [
            models.UniqueConstraint(fields=["user", "step"], name="step_progress_unique"),
        ]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.step}: {self.get_status_display()}"


class ProgressEvent(models.Model):
    """Append-only log of every status change: who, what, from → to, when and from where."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="progress_events"
    )
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="progress_events")
    from_status = models.CharField(max_length=16, choices=Status.choices)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    occurred_at = models.DateTimeField(help_text="When it happened on the client.")
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    # NULL (not "") when absent, so the partial unique constraint skips it.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="progress_event_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "occurred_at"]),
            models.Index(fields=["user", "id"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.step}: {self.from_status} → {self.to_status}"

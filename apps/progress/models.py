import uuid

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
    # PROTECT, as on the events and notes below: a learner's data on a step never goes
    # with it (a deleted track's included); content retires such a step instead.
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="progress")
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


class BulkAction(models.Model):
    """One "mark all done" or "reset" of a track by a learner, or the undo of one.

    Its status changes are events pointing at it, so it can be undone as a whole; they
    are not study, so streaks and activity leave them out.
    """

    class Kind(models.TextChoices):
        MARK_DONE = "mark_done", "Mark all done"
        RESET = "reset", "Reset the track"
        UNDO = "undo", "Undo"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bulk_actions"
    )
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="bulk_actions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    #: For an undo, the action it undid (an action is undone at most once).
    undoes = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="undone_by"
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    steps_changed = models.PositiveIntegerField(default=0)
    #: Where each step it changed stood before, by step id: ``[status, started_at,
    #: completed_at]`` (ISO times or null), so an undo restores the times as well.
    before = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # NULL (not "") when absent, so the partial unique constraint skips it.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="bulk_action_idempotency_key_unique",
            ),
        ]
        indexes = [models.Index(fields=["user", "track", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.track}: {self.get_kind_display()}"


class ProgressEventQuerySet(models.QuerySet["ProgressEvent"]):
    def study(self) -> "ProgressEventQuerySet":
        """The changes a learner made step by step: a bulk action (or its undo) is not a
        day of study."""
        return self.filter(bulk__isnull=True)


class ProgressEvent(models.Model):
    """Append-only log of every status change: who, what, from → to, when and from where."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="progress_events"
    )
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="progress_events")
    from_status = models.CharField(max_length=16, choices=Status.choices)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    occurred_at = models.DateTimeField(help_text="When it happened on the client.")
    recorded_at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    # NULL (not "") when absent, so the partial unique constraint skips it.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    #: The bulk action this change was part of, if any.
    bulk = models.ForeignKey(
        BulkAction, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )

    objects = ProgressEventQuerySet.as_manager()

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


class SyncReceipt(models.Model):
    """An offline-sync operation the server has taken (applied or stale), kept so that the
    same ``op_id`` is always answered ``duplicate``, even when it changed nothing and so
    left no event, and a reuse for another change is refused.

    The payload is kept as the device sent it: ``step_id`` is a number, not a relation, so
    a receipt neither holds a step back from deletion nor counts as learner data on it.
    """

    pk = models.CompositePrimaryKey("user_id", "op_id")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # As the events' idempotency keys: the API sends UUIDs, the service takes any key.
    op_id = models.CharField(max_length=64)
    step_id = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id} · {self.op_id}"


class StepNote(models.Model):
    """A learner's private Markdown note and links on one step. Nobody else reads it:
    not other learners, not public pages, not staff (the admin shows that it exists).

    Clearing a note keeps the row, empty, so its ``updated_at`` only moves forward (the
    track page's cache is keyed by it).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="step_notes"
    )
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="notes")
    body = models.TextField(blank=True)
    #: The learner's own links: a list of http(s) URLs.
    links = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "step"], name="step_note_unique"),
        ]

    def __str__(self) -> str:
        return f"Note of {self.user} on {self.step}"

    @property
    def is_empty(self) -> bool:
        return not self.body.strip() and not self.links

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Celery task to publish, written in the same transaction as the change it follows.

    The row commits or rolls back with the caller's work, so a task is published for every
    committed change and for no rolled-back one, and a broker outage only delays it: the
    relay publishes pending rows once the broker answers again (see ``apps.core.outbox``).
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    #: Not published before this moment: the caller's countdown, or the backoff after a
    #: failed publish.
    available_at = models.DateTimeField(default=timezone.now)
    #: Failed publish attempts so far.
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The relay's query: pending rows that are due, oldest first.
            models.Index(
                fields=["available_at", "id"],
                condition=Q(sent_at__isnull=True),
                name="core_outbox_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        state = "sent" if self.sent_at else "pending"
        return f"{self.task} #{self.pk} ({state})"

from django.conf import settings
from django.db import models

from apps.content.models import Resource
from apps.linkhealth.outcomes import CHECK_CHOICES, HEALTH_CHOICES, Outcome


class ResourceHealth(models.Model):
    """The current health of one resource's link (one resource, one normalized URL)."""

    resource = models.OneToOneField(
        Resource, on_delete=models.CASCADE, primary_key=True, related_name="health"
    )
    health = models.CharField(max_length=16, choices=HEALTH_CHOICES, default=Outcome.UNKNOWN)
    host = models.CharField(max_length=255, blank=True)
    last_outcome = models.CharField(max_length=16, choices=CHECK_CHOICES, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_detail = models.CharField(max_length=500, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    #: The current streak of ``broken`` answers: how many, and when the first came.
    broken_checks = models.PositiveIntegerField(default=0)
    first_broken_at = models.DateTimeField(null=True, blank=True)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    suggested_url = models.URLField(max_length=500, blank=True)
    recheck_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "resource health"
        indexes = [
            models.Index(fields=["health", "health_changed_at"]),
            models.Index(fields=["last_checked_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.resource_id}: {self.health}"


class LinkCheckRun(models.Model):
    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        COMMAND = "command", "Command"
        MANUAL = "manual", "Check now"
        REPORT = "report", "Learner report"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    #: For scheduled runs, the hour they belong to: a duplicate delivery finds it taken.
    slot = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    total = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "slot"],
                condition=models.Q(slot__isnull=False),
                name="one_scheduled_run_per_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.kind})"


class LinkCheckClaim(models.Model):
    """One URL handed to one chunk of one run: a URL is checked at most once per run."""

    run = models.ForeignKey(LinkCheckRun, on_delete=models.CASCADE, related_name="claims")
    url = models.URLField(max_length=500)
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    chunk = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "url"], name="link_claim_once_per_run"),
        ]
        indexes = [models.Index(fields=["run", "chunk"])]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.url}"


class LinkCheck(models.Model):
    """One check of one resource's link, as it happened."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="link_checks")
    run = models.ForeignKey(
        LinkCheckRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="checks"
    )
    url = models.URLField(max_length=500)
    checked_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=CHECK_CHOICES)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    final_url = models.URLField(max_length=2000, blank=True)
    redirects = models.PositiveIntegerField(default=0)
    chain = models.JSONField(default=list, blank=True)
    elapsed_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    suggested_url = models.URLField(max_length=2000, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["resource", "-checked_at"])]
        constraints = [
            # However a chunk is retried or redelivered, a URL has one result per run.
            models.UniqueConstraint(
                fields=["run", "url"],
                condition=models.Q(run__isnull=False),
                name="one_link_check_per_url_per_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.url}: {self.outcome}"


class BrokenLinkReport(models.Model):
    """A learner saying a resource's link looks broken (once per learner per resource)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="link_reports"
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="reports")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "resource"], name="one_link_report_per_learner_per_resource"
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} reports {self.resource_id}"


class LinkDigestSubscription(models.Model):
    """A staff member who wants the daily link digest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="link_digest_subscription",
        limit_choices_to={"is_staff": True},
    )
    is_active = models.BooleanField("receives the digest", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.user)


class LinkDigest(models.Model):
    """A day's digest, claimed before it is sent; the newest marks "new since the last digest".

    The row for a day is created first (one per day), so a duplicate delivery or a
    retry of the task finds the day taken and sends nothing a second time.
    """

    #: The local day the digest is for (empty on digests recorded before days were kept).
    day = models.DateField(null=True, blank=True, unique=True)
    sent_at = models.DateTimeField(db_index=True)
    broken_count = models.PositiveIntegerField(default=0)
    moved_count = models.PositiveIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    #: How many of the recipients' emails went out, and why the others did not.
    delivered = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"digest {self.sent_at:%Y-%m-%d %H:%M}"

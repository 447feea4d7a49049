from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from apps.content.urls_normalize import url_normalize
from apps.core.errors import ApplicationError


class Track(models.Model):
    class Level(models.TextChoices):
        BEGINNER = "beginner", "Beginner"
        INTERMEDIATE = "intermediate", "Intermediate"
        ADVANCED = "advanced", "Advanced"

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True, help_text="Markdown.")
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.BEGINNER)
    goal = models.CharField(max_length=100, blank=True, help_text='For example "Build with LLMs".')
    is_published = models.BooleanField("published", default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "title"]
        indexes = [models.Index(fields=["is_published", "position"])]

    def __str__(self) -> str:
        return self.title


class Resource(models.Model):
    class Kind(models.TextChoices):
        COURSE = "course", "Course"
        VIDEO = "video", "Video"
        BOOK = "book", "Book"
        PAPER = "paper", "Paper"
        ARTICLE = "article", "Article"
        TUTORIAL = "tutorial", "Tutorial"
        WEBSITE = "website", "Website"
        DATASET = "dataset", "Dataset"
        TOOL = "tool", "Tool"
        COMMUNITY = "community", "Community"

    class Cost(models.TextChoices):
        FREE = "free", "Free"
        PAID = "paid", "Paid"
        FREEMIUM = "freemium", "Freemium"
        UNKNOWN = "unknown", "Unknown"

    url = models.URLField(max_length=500, unique=True, help_text="Stored normalized.")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WEBSITE)
    provider = models.CharField(max_length=100, blank=True)
    cost = models.CharField(max_length=16, choices=Cost.choices, default=Cost.UNKNOWN)
    duration = models.CharField(
        max_length=100, blank=True, help_text='As stated by the source, e.g. "11 weeks".'
    )
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["kind"]), models.Index(fields=["provider"])]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        try:
            self.url = url_normalize(self.url)
        except ApplicationError as exc:
            raise ValidationError({"url": exc.message}) from exc


class ChoiceGroup(models.Model):
    """Steps of a track that are alternatives: the group is complete when ``required`` of
    its steps are done ("choose one", or "choose N")."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="choice_groups")
    key = models.SlugField(
        max_length=80, help_text="Stable within the track; unique among its steps and groups."
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    required = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="How many of the group's steps complete it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["track", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["track", "key"], name="choice_group_key_unique_in_track"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def anchor(self) -> str:
        return f"group-{self.key}"


class StepQuerySet(models.QuerySet["Step"]):
    def current(self) -> "StepQuerySet":
        """Steps not retired: the ones a track shows and completion counts."""
        return self.filter(retired_at__isnull=True)


class Step(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField(
        max_length=80, help_text="Stable within the track; progress is tied to it."
    )
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown.")
    estimated_minutes = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    is_optional = models.BooleanField("optional", default=False)
    prerequisites = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="unlocks"
    )
    group = models.ForeignKey(
        ChoiceGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="steps",
        help_text="The choice group this step is one of the alternatives of.",
    )
    prerequisite_groups = models.ManyToManyField(
        ChoiceGroup,
        blank=True,
        related_name="unlocks",
        help_text="Choice groups to complete before this step.",
    )
    # Set when the step left its track (removed from the roadmap file, or deleted in the
    # admin while learners have progress on it): hidden and not counted, progress kept.
    retired_at = models.DateTimeField(null=True, blank=True, db_index=True)
    resources = models.ManyToManyField(
        Resource, through="StepResource", related_name="steps", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StepQuerySet.as_manager()

    class Meta:
        ordering = ["track", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["track", "key"], name="step_key_unique_in_track"),
        ]
        indexes = [models.Index(fields=["track", "position"])]

    def __str__(self) -> str:
        return self.title

    @property
    def anchor(self) -> str:
        return f"step-{self.key}"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class StepResource(models.Model):
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="step_resources")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="step_links")
    position = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["step", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["step", "resource"], name="step_resource_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.step} → {self.resource}"


class ContentRevision(models.Model):
    """One counter, bumped by every change to tracks, steps, resources or their links.

    Caches of content are keyed by it, so a change is never served stale and nothing
    has to be deleted from a cache. It lives in the database (not the cache) so every
    process agrees on it, and reads ride along the track query as a subquery.
    """

    number = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"content revision {self.number}"


class TrackChange(models.Model):
    """One change curators made to a track's steps, as its learners are told of it
    ("2 steps added, 1 retired, 1 resource replaced") and as curators look back on it.

    Written by the content services (the roadmap loader, the admin, retiring and
    restoring), never by signals. The step is kept by key and title as well, so the
    change outlives a step deleted for good.
    """

    class Kind(models.TextChoices):
        STEP_ADDED = "step_added", "Step added"
        STEP_RETIRED = "step_retired", "Step retired"
        STEP_RESTORED = "step_restored", "Step back"
        STEP_CHANGED = "step_changed", "Step changed"
        RESOURCE_ADDED = "resource_added", "Resource added"
        RESOURCE_REMOVED = "resource_removed", "Resource removed"
        RESOURCE_REPLACED = "resource_replaced", "Resource replaced"

    class Source(models.TextChoices):
        ROADMAP = "roadmap", "Roadmap file"
        ADMIN = "admin", "Admin"

    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="changes")
    step = models.ForeignKey(
        Step, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )
    step_key = models.SlugField(max_length=80)
    step_title = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    #: What changed, in words: the resource added or replaced, the fields edited.
    detail = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ADMIN)
    #: The curator who made it in the admin (none for a roadmap file).
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["track", "id"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=[
                        "step_added",
                        "step_retired",
                        "step_restored",
                        "step_changed",
                        "resource_added",
                        "resource_removed",
                        "resource_replaced",
                    ]
                ),
                name="track_change_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.step_title}"

"""What a learner chooses to show or subscribe to, and what they have seen."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from apps.content.models import Track


class PublicProfile(models.Model):
    """A learner's public page at /u/<handle>/: off until they turn it on, and then it
    shows only the tracks they chose (their progress, streak and activity, never their
    notes, email or time zone)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="public_profile"
    )
    #: Stored lower-case: handles are the same whatever their case.
    handle = models.SlugField(max_length=30, unique=True)
    is_public = models.BooleanField("public", default=False)
    tracks = models.ManyToManyField(Track, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("handle"), name="public_profile_handle_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.handle


class CalendarFeed(models.Model):
    """A learner's private calendar feed: only a digest of its token is kept, so the URL
    is shown once; regenerating it or turning it off makes the old URL answer 404."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.user_id}"


class TrackVisit(models.Model):
    """The last change to a track (``TrackChange``) its learner has been shown: what
    changed since their last visit starts after it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="track_visits"
    )
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    seen_change_id = models.PositiveBigIntegerField(default=0)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "track"], name="track_visit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} saw {self.track_id} up to change {self.seen_change_id}"

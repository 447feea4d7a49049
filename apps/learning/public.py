"""A learner's public page (/u/<handle>/) and README badges: off by default, showing only
the tracks they chose, and nothing private (no notes, email or time zone)."""

import re
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from apps.accounts.models import User
from apps.content.models import ContentRevision, Track
from apps.learning.charts import ActivityChart, activity_chart
from apps.learning.maps import track_map_svg
from apps.learning.models import PublicProfile
from apps.learning.selectors import TrackView, fingerprint, learner_dashboard_for
from apps.progress.models import ProgressEvent
from apps.progress.selectors import (
    Completion,
    Dashboard,
    EnrollmentSummary,
    Streak,
    learner_track_progress,
    track_completion_for,
)

HANDLE_MIN, HANDLE_MAX = 3, 30
HANDLE_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
#: Words a handle may not be: the site's own paths and names people would mistake for it.
RESERVED_HANDLES = frozenset(
    {
        "about", "account", "accounts", "admin", "administrator", "api", "calendar",
        "curator", "dashboard", "feed", "help", "login", "logout", "me", "moderator",
        "new", "null", "official", "public", "root", "security", "settings", "signup",
        "staff", "static", "stepwise", "support", "system", "team", "tracks", "u", "www",
    }
)  # fmt: skip


def handle_normalize(value: str) -> str:
    return value.strip().lower()


def handle_validate(*, handle: str, user: User) -> str:
    """The handle, normalized (lower case), or ``ValidationError`` saying what is wrong:
    its shape, a reserved word, or taken by someone else (whatever its case)."""
    value = handle_normalize(handle)
    if not HANDLE_MIN <= len(value) <= HANDLE_MAX:
        raise ValidationError(
            f"A handle is {HANDLE_MIN} to {HANDLE_MAX} characters long.", code="length"
        )
    if not HANDLE_PATTERN.match(value) or "--" in value:
        raise ValidationError(
            "Use lower-case letters, digits and single hyphens, starting and ending with "
            "a letter or digit (for example “ada-lovelace”).",
            code="invalid",
        )
    if value in RESERVED_HANDLES:
        raise ValidationError(f"“{value}” is reserved; choose another handle.", code="reserved")
    if PublicProfile.objects.filter(handle__iexact=value).exclude(user=user).exists():
        raise ValidationError(f"“{value}” is taken; choose another handle.", code="taken")
    return value


def public_profile_of(*, user: User) -> PublicProfile | None:
    """The learner's public page settings (with the tracks chosen), or None if never set."""
    return PublicProfile.objects.filter(user=user).prefetch_related("tracks").first()


def public_track_choices(*, user: User) -> list[Track]:
    """The published tracks the learner follows: the ones their page may show."""
    return list(
        Track.objects.filter(is_published=True, enrollments__user=user).order_by(
            "position", "title"
        )
    )


@transaction.atomic
def public_profile_update(
    *, user: User, handle: str, is_public: bool, track_ids: list[int]
) -> PublicProfile:
    """Set the learner's handle, whether their page is public and which of the tracks
    they follow it shows. The change is seen at once: the page and its badges read
    these settings on every request."""
    value = handle_validate(handle=handle, user=user)
    allowed = {track.pk for track in public_track_choices(user=user)}
    unknown = set(track_ids) - allowed
    if unknown:
        raise ValidationError(
            {"tracks": "Choose among the published tracks you follow."}, code="invalid"
        )
    limit = settings.STEPWISE_PUBLIC_PAGE_TRACKS
    if len(set(track_ids)) > limit:
        raise ValidationError(
            {"tracks": f"Choose at most {limit} tracks: each is drawn as a map."}, code="max"
        )
    try:
        # Two learners taking one handle at once: the database's unique index decides.
        with transaction.atomic():
            profile, _ = PublicProfile.objects.select_for_update().get_or_create(
                user=user, defaults={"handle": value}
            )
            profile.handle = value
            profile.is_public = is_public
            profile.full_clean(exclude=["user"], validate_unique=False)
            profile.save()
    except IntegrityError as exc:
        raise ValidationError(f"“{value}” is taken; choose another handle.", code="taken") from exc
    profile.tracks.set(sorted(track_ids))
    # Saved after the tracks too, so updated_at (in the page's cache key) moves with them.
    profile.save(update_fields=["updated_at"])
    return profile


@transaction.atomic
def public_profile_hide(*, user: User) -> None:
    """Turn the learner's public page off (their handle stays theirs)."""
    PublicProfile.objects.filter(user=user).update(is_public=False, updated_at=timezone.now())


# --- the page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicTrack:
    track: Track
    completion: Completion
    #: The map of the track with the learner's statuses.
    map_svg: SafeString


class PublicPage:
    """What /u/<handle>/ shows. ``version`` changes with everything it shows (the
    settings, the learner's progress, the content, their local day): the rendered page
    is kept by it, and the rest is read only when not."""

    def __init__(self, *, profile: PublicProfile, version: str) -> None:
        self.profile = profile
        self.user: User = profile.user
        self.version = version

    @property
    def handle(self) -> str:
        return self.profile.handle

    @property
    def name(self) -> str:
        """The display name, else the handle: never the email address."""
        return self.user.display_name or self.profile.handle

    @cached_property
    def _dashboard(self) -> Dashboard:
        return learner_dashboard_for(user=self.user).dashboard

    @cached_property
    def _shown(self) -> list[EnrollmentSummary]:
        chosen = {track.pk for track in self.profile.tracks.all()}
        return [
            e for e in self._dashboard.enrollments if e.track.pk in chosen and e.track.is_published
        ]

    @cached_property
    def tracks(self) -> list[PublicTrack]:
        shown = []
        for entry in sorted(self._shown, key=lambda e: (e.track.position, e.track.title)):
            progress = learner_track_progress(user_id=self.user.pk, track_id=entry.track.pk)
            # Statuses only (no user id): the view never reads the learner's notes.
            view = TrackView(
                track=entry.track, statuses=progress.statuses, completion=progress.completion
            )
            shown.append(
                PublicTrack(
                    track=entry.track,
                    completion=progress.completion,
                    map_svg=_linked_to_track(
                        track_map_svg(items=view.items, signed_in=True, title=entry.track.title),
                        entry.track,
                    ),
                )
            )
        return shown

    @property
    def streak(self) -> Streak:
        return self._dashboard.streak

    @cached_property
    def chart(self) -> ActivityChart:
        return activity_chart(self._dashboard.activity)

    @cached_property
    def description(self) -> str:
        """One line for link previews (Open Graph) and search results."""
        if not self._shown:
            return f"{self.name} learns step by step on Stepwise."
        titles = ", ".join(f"{e.track.title} ({e.completion.percent}%)" for e in self._shown[:3])
        return f"{self.name} is following {titles} on Stepwise."


def _linked_to_track(svg: SafeString, track: Track) -> SafeString:
    """The map's nodes link to steps on the track page (on the public page there are
    none to link to in place)."""
    url = reverse("learning:track", args=[track.slug])
    return mark_safe(svg.replace('<a href="#', f'<a href="{url}#'))  # noqa: S308 - ours


def _versions(profiles: QuerySet[PublicProfile]) -> QuerySet[PublicProfile]:
    last_event = ProgressEvent.objects.filter(user_id=OuterRef("user_id")).order_by("-id")
    return profiles.annotate(
        last_event=Subquery(last_event.values("id")[:1]),
        revision=Subquery(ContentRevision.objects.filter(pk=1).values("number")[:1]),
    )


def public_page_for(*, handle: str) -> PublicPage | None:
    """The public page of ``handle``, or None when there is none or it is private: 1
    query (the settings with the learner and the versions of what the page shows), plus
    1 for the tracks chosen."""
    profile = (
        _versions(PublicProfile.objects.filter(handle=handle_normalize(handle), is_public=True))
        .select_related("user")
        .prefetch_related("tracks")
        .first()
    )
    if profile is None:
        return None
    today = profile.user.local_today()
    version = fingerprint(
        (
            profile.pk,
            profile.handle,
            profile.updated_at,
            profile.user.display_name,
            profile.last_event,  # type: ignore[attr-defined]
            profile.revision,  # type: ignore[attr-defined]
            sorted(track.pk for track in profile.tracks.all()),
            today,
        )
    )
    return PublicPage(profile=profile, version=version)


# --- the badge --------------------------------------------------------------------------


@dataclass
class Badge:
    handle: str
    track_id: int
    track_title: str
    user_id: int
    #: Changes with what the badge shows: its ETag.
    version: str

    @cached_property
    def completion(self) -> Completion:
        return track_completion_for(user_id=self.user_id, track_id=self.track_id)


def badge_for(*, handle: str, track_slug: str) -> Badge | None:
    """The badge of a track shown on a public page, or None (no such public page, or the
    track is not one it shows): 1 query; its completion 1 more, only when read (not for
    an answer 304)."""
    row = (
        _versions(PublicProfile.objects.filter(handle=handle_normalize(handle), is_public=True))
        .filter(tracks__slug=track_slug, tracks__is_published=True)
        .values_list(  # type: ignore[misc]  # annotated by _versions, unseen by the stubs
            "handle",
            "user_id",
            "tracks__pk",
            "tracks__title",
            "last_event",
            "revision",
            "updated_at",
        )
        .first()
    )
    if row is None:
        return None
    handle, user_id, track_id, title, last_event, revision, updated_at = row
    version = fingerprint((handle, track_id, title, last_event, revision, updated_at))
    return Badge(
        handle=handle, track_id=track_id, track_title=title, user_id=user_id, version=version
    )

"""A learner's calendar feed (iCalendar, RFC 5545): their next steps spread over the coming
days at their weekly goal or their own pace, at a private URL they can revoke.

Written with the icalendar library (maintained, and the one the tests parse the feed
with); django-ical serves feeds through Django's syndication framework, a shape that fits
a list of published items, not a plan computed per learner behind a secret token.
"""

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from apps.accounts.models import User
from apps.content.models import Step
from apps.core.http import site_url
from apps.core.templatetags.stepwise import duration
from apps.learning.models import CalendarFeed
from apps.progress.models import Enrollment, Status, StepProgress
from apps.progress.selectors import group_finished, next_steps_for
from apps.reminders.selectors import reminder_preferences_get

FINISHED = (Status.DONE, Status.SKIPPED)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_issue(*, user: User) -> str:
    """A new secret token for the learner's feed, replacing any earlier one (whose URL
    then answers 404). Only its digest is kept: the token is shown this once."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        user=user, defaults={"token_digest": _digest(token), "created_at": timezone.now()}
    )
    return token


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> bool:
    """Turn the learner's feed off: its URL answers 404. Returns whether there was one."""
    deleted, _ = CalendarFeed.objects.filter(user=user).delete()
    return bool(deleted)


def calendar_feed_of(*, user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


def calendar_feed_owner(*, token: str) -> User | None:
    """The learner whose feed ``token`` opens, or None (revoked, replaced, or never)."""
    feed = CalendarFeed.objects.filter(token_digest=_digest(token)).select_related("user").first()
    return feed.user if feed is not None else None


def calendar_feed_url(token: str) -> str:
    return site_url(reverse("learning:calendar-feed", args=[token]))


# --- the plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    day: date
    step_id: int
    step_key: str
    step_title: str
    estimated_minutes: int
    track_slug: str
    track_title: str


@dataclass(frozen=True)
class Pace:
    steps_per_week: float
    #: "goal" (their weekly goal), "pace" (steps done lately) or "default".
    basis: str


def learner_pace(*, user: User, now: datetime | None = None) -> Pace:
    """Steps a week: the learner's weekly goal, else what they finished over the last
    ``STEPWISE_CALENDAR_PACE_WEEKS`` weeks, else the default. 2 queries."""
    goal = reminder_preferences_get(user=user).weekly_goal
    if goal:
        return Pace(float(goal), "goal")
    weeks = settings.STEPWISE_CALENDAR_PACE_WEEKS
    since = (now or timezone.now()) - timedelta(weeks=weeks)
    done = StepProgress.objects.filter(
        user=user, status=Status.DONE, completed_at__gte=since
    ).count()
    if done:
        return Pace(done / weeks, "pace")
    return Pace(float(settings.STEPWISE_CALENDAR_DEFAULT_STEPS_PER_WEEK), "default")


def _upcoming_by_track(user: User) -> list[tuple[str, str, list[Step]]]:
    """Per published track the learner follows (the most recently active first), its
    steps still ahead: required, current, neither done nor skipped, not in a choice group
    already finished; the next step (``next_steps_for``, prerequisites met) first. 4
    queries whatever the number of tracks and steps."""
    enrollments = list(
        Enrollment.objects.filter(user=user, track__is_published=True)
        .order_by("-last_activity_at")
        .values_list("track_id", "track__slug", "track__title")
    )
    if not enrollments:
        return []
    track_ids = [track_id for track_id, _, _ in enrollments]
    mine = StepProgress.objects.filter(user=user, step_id=OuterRef("pk")).values("status")[:1]
    steps = list(
        Step.objects.current()
        .filter(track_id__in=track_ids)
        .select_related("group")
        .annotate(status=Subquery(mine))
        .order_by("track_id", "position", "id")
    )
    tally: dict[int, list[str | None]] = {}
    required: dict[int, int] = {}
    for step in steps:
        if step.group is not None:
            tally.setdefault(step.group.pk, []).append(step.status)
            required[step.group.pk] = step.group.required
    finished_groups = {
        group_id
        for group_id, statuses in tally.items()
        if group_finished(
            required=required[group_id],
            steps=len(statuses),
            done=statuses.count(Status.DONE),
            skipped=statuses.count(Status.SKIPPED),
        )
    }
    next_steps = next_steps_for(user_id=user.pk, track_ids=track_ids)
    ahead: dict[int, list[Step]] = {}
    for step in steps:
        if step.status in FINISHED or step.is_optional or step.group_id in finished_groups:
            continue
        ahead.setdefault(step.track_id, []).append(step)
    result = []
    for track_id, slug, title in enrollments:
        upcoming = ahead.get(track_id, [])
        first = next_steps[track_id]
        if first is not None:
            upcoming = [s for s in upcoming if s.pk == first.id] + [
                s for s in upcoming if s.pk != first.id
            ]
        if upcoming:
            result.append((slug, title, upcoming))
    return result


def calendar_plan_for(*, user: User, today: date | None = None) -> list[PlannedStep]:
    """The learner's next steps, at most ``STEPWISE_CALENDAR_EVENTS``, one day each from
    today (their local day) on: spaced by their pace, taken in turn from each track they
    follow (the most recently active first). 6 queries."""
    today = today or user.local_today()
    pace = learner_pace(user=user)
    queues = _upcoming_by_track(user)
    order: list[tuple[str, str, Step]] = []
    while len(order) < settings.STEPWISE_CALENDAR_EVENTS and any(q for _, _, q in queues):
        for slug, title, queue in queues:
            if queue and len(order) < settings.STEPWISE_CALENDAR_EVENTS:
                order.append((slug, title, queue.pop(0)))
    gap = 7 / pace.steps_per_week
    return [
        PlannedStep(
            day=today + timedelta(days=math.floor(n * gap)),
            step_id=step.pk,
            step_key=step.key,
            step_title=step.title,
            estimated_minutes=step.estimated_minutes,
            track_slug=slug,
            track_title=title,
        )
        for n, (slug, title, step) in enumerate(order)
    ]


def step_url(planned: PlannedStep) -> str:
    return site_url(
        f"{reverse('learning:track', args=[planned.track_slug])}#step-{planned.step_key}"
    )


def calendar_ics(*, user: User, now: datetime | None = None) -> bytes:
    """The learner's feed as iCalendar text: one all-day event per planned step, each
    linking back to its step. A step keeps its UID as its day moves, so calendar apps
    move the event instead of adding another."""
    now = now or timezone.now()
    host = urlsplit(settings.SITE_URL).hostname or "stepwise"
    calendar = Calendar()
    calendar.add("prodid", "-//Stepwise//Next steps//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Stepwise: my next steps")
    calendar.add("x-wr-caldesc", "Your next steps on Stepwise, at your pace.")
    calendar.add("refresh-interval", timedelta(hours=12), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT12H")
    for planned in calendar_plan_for(user=user):
        url = step_url(planned)
        event = Event()
        event.add("uid", f"step-{planned.step_id}-learner-{user.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", planned.day)
        event.add("dtend", planned.day + timedelta(days=1))
        event.add("summary", f"{planned.step_title} · {planned.track_title}")
        event.add(
            "description",
            f"Next on “{planned.track_title}”: {planned.step_title}, about "
            f"{duration(planned.estimated_minutes)}.\n{url}",
        )
        event.add("url", url)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()

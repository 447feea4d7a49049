"""A learner's private calendar feed: their next steps spread at their weekly goal or
their own pace, each linking back to its step, at a URL they can replace or turn off."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from apps.learning.calendar import calendar_feed_issue, calendar_plan_for
from apps.learning.models import CalendarFeed
from apps.progress.models import Status
from apps.progress.services import step_status_set
from apps.reminders.services import reminder_preferences_update
from tests.factories import StepFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def _following(learner, title="Deep learning", steps=4):
    track = TrackFactory(title=title)
    made = [
        StepFactory(track=track, position=i, key=f"s{i}", title=f"{title} {i}")
        for i in range(steps)
    ]
    step_status_set(user=learner, step=made[0], status=Status.DONE)
    return track, made


def _issue(client):
    response = client.post(reverse("learning:calendar-settings"), {"action": "issue"})
    assert response.status_code == 200
    return re.search(
        r'id="calendar-url" type="text" readonly value="([^"]+)"', response.content.decode()
    )[1]


def _events(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return calendar, list(calendar.walk("VEVENT"))


def test_feed_parses_and_holds_the_next_steps_each_linking_back(client, learner, settings):
    settings.SITE_URL = "https://stepwise.example.org"
    track, _made = _following(learner)
    client.force_login(learner)
    url = _issue(client)
    assert url.startswith("https://stepwise.example.org/calendar/")

    client.logout()  # a calendar app has no session
    calendar, events = _events(client, url)

    assert str(calendar["version"]) == "2.0"
    assert [str(e["summary"]) for e in events] == [
        "Deep learning 1 · Deep learning",
        "Deep learning 2 · Deep learning",
        "Deep learning 3 · Deep learning",
    ]
    first = events[0]
    assert str(first["url"]) == f"https://stepwise.example.org/tracks/{track.slug}/#step-s1"
    assert str(first["url"]) in str(first["description"])
    assert first.decoded("dtstart") == timezone.localtime(timezone.now(), learner.zoneinfo).date()
    assert len({str(e["uid"]) for e in events}) == 3


def test_steps_are_spread_at_the_weekly_goal(learner):
    _following(learner, steps=6)
    reminder_preferences_update(user=learner, weekly_goal=7)
    today = timezone.localdate()
    days = [p.day for p in calendar_plan_for(user=learner, today=today)]
    assert days == [today + timedelta(days=n) for n in range(5)]  # one a day

    reminder_preferences_update(user=learner, weekly_goal=1)
    days = [p.day for p in calendar_plan_for(user=learner, today=today)]
    assert days == [today + timedelta(weeks=n) for n in range(5)]  # one a week


def test_without_a_goal_steps_follow_the_learners_own_pace(learner, settings):
    settings.STEPWISE_CALENDAR_PACE_WEEKS = 4
    _, made = _following(learner, steps=8)
    for step in made[1:4]:  # 4 steps done in 4 weeks: one a week
        step_status_set(user=learner, step=step, status=Status.DONE)
    today = timezone.localdate()
    days = [p.day for p in calendar_plan_for(user=learner, today=today)]
    assert days == [today + timedelta(days=7 * n) for n in range(4)]


def test_finished_skipped_optional_and_untaken_alternatives_are_not_planned(learner):
    track, made = _following(learner, steps=3)
    step_status_set(user=learner, step=made[1], status=Status.SKIPPED)
    StepFactory(track=track, position=9, key="extra", title="An extra", is_optional=True)
    keys = [p.step_key for p in calendar_plan_for(user=learner)]
    assert keys == ["s2"]


def test_tracks_take_turns(learner):
    _following(learner, title="Alpha", steps=3)
    _following(learner, title="Beta", steps=3)
    titles = [p.track_title for p in calendar_plan_for(user=learner)]
    assert sorted(titles[:2]) == ["Alpha", "Beta"] and titles[0] != titles[1]


def test_a_new_link_replaces_the_old_and_turning_it_off_makes_it_404(client, learner):
    _following(learner)
    client.force_login(learner)
    old = _issue(client)
    new = _issue(client)
    assert old != new
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    # The token itself is never stored, only a digest of it.
    token = new.rsplit("/", 1)[1].removesuffix(".ics")
    assert not CalendarFeed.objects.filter(token_digest=token).exists()

    response = client.post(reverse("learning:calendar-settings"), {"action": "revoke"})
    assert response.status_code == 302
    assert client.get(new).status_code == 404
    assert client.get("/calendar/made-up-token.ics").status_code == 404


def test_one_learners_token_opens_only_their_own_plan(client):
    alice, bob = UserFactory(), UserFactory()
    _following(alice, title="Alice's track")
    _following(bob, title="Bob's track")
    token = calendar_feed_issue(user=alice)
    client.force_login(bob)  # signed in as someone else changes nothing
    _, events = _events(client, reverse("learning:calendar-feed", args=[token]))
    assert all("Alice's track" in str(e["summary"]) for e in events)
    # Bob's own page shows no link of Alice's and says he has none.
    html = client.get(reverse("learning:calendar-settings")).content.decode()
    assert token not in html and "No calendar link yet" in html


def test_calendar_settings_need_a_sign_in_and_a_csrf_token(client, learner):
    assert client.get(reverse("learning:calendar-settings")).status_code == 302
    strict = client.__class__(enforce_csrf_checks=True)
    strict.force_login(learner)
    response = strict.post(reverse("learning:calendar-settings"), {"action": "issue"})
    assert response.status_code == 403
    assert not CalendarFeed.objects.exists()


def test_feed_query_budget_does_not_grow_with_tracks(client, django_assert_num_queries):
    learner = UserFactory()
    for n in range(5):
        _following(learner, title=f"Track {n}", steps=6)
    token = calendar_feed_issue(user=learner)
    url = reverse("learning:calendar-feed", args=[token])
    # 1 the feed's owner, 2 their weekly goal, 3 steps done lately, 4 the tracks they
    # follow, 5 those tracks' steps with their statuses, 6-8 the next step of each
    # (next_steps_for)
    with django_assert_num_queries(8):
        client.get(url)

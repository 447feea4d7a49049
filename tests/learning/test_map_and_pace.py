"""The track map, the learner's pace and finish date, and their week against the goal."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.content.models import ChoiceGroup
from apps.progress.models import Status
from apps.progress.selectors import PACE_WINDOW_DAYS, Pace, learner_pace
from apps.progress.services import step_status_set, track_bulk_set
from apps.reminders.models import ReminderPreferences
from tests.factories import StepFactory, TrackFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def road():
    """Python, then maths, then a choice of two courses, and an optional extra."""
    track = TrackFactory(slug="road", title="The <road>")
    python = StepFactory(track=track, position=1, key="python", title="Learn <Python>")
    maths = StepFactory(track=track, position=2, key="maths", title="Maths")
    group = ChoiceGroup.objects.create(track=track, key="course", title="A course", required=1)
    first = StepFactory(track=track, position=3, key="ml-spec", title="ML Spec", group=group)
    second = StepFactory(track=track, position=4, key="cs229", title="CS229", group=group)
    extra = StepFactory(track=track, position=5, key="extra", title="Extra", is_optional=True)
    maths.prerequisites.add(python)
    first.prerequisites.add(python)
    extra.prerequisite_groups.add(group)
    return track, [python, maths, first, second, extra]


def _map(html: str) -> str:
    return re.search(r'<svg class="track-map".*?</svg>', html, re.S).group(0)


def test_the_map_draws_every_step_in_order_with_the_learners_statuses(client, learner, road):
    _track, (python, maths, _first, second, _extra) = road
    step_status_set(user=learner, step=python, status=Status.DONE)
    step_status_set(user=learner, step=maths, status=Status.IN_PROGRESS)
    step_status_set(user=learner, step=second, status=Status.SKIPPED)
    client.force_login(learner)

    svg = _map(client.get(reverse("learning:track", args=["road"])).content.decode())

    anchors = re.findall(r'<a href="#([^"]+)"', svg)
    assert anchors == [
        "step-python",
        "step-maths",
        "group-course",
        "step-ml-spec",
        "step-cs229",
        "step-extra",
    ]
    # Status by colour class and by a shape of its own (tick, half disc, slash).
    assert svg.count('class="map-node map-done"') == 1 and svg.count('class="map-tick"') == 1
    assert svg.count('class="map-half"') == 1 and svg.count('class="map-slash"') == 1
    assert "<title>Learn &lt;Python&gt;, done</title>" in svg  # escaped, with its status
    assert "Choose one: A course" in svg and 'class="map-group"' in svg
    # Prerequisites other than the step just before are arcs: python → ml-spec, and the
    # group → extra; maths follows python on the spine.
    assert svg.count('class="map-edge"') == 2
    # Fixed size in CSS pixels: it scrolls on a phone instead of shrinking its text.
    assert 'width="360"' in svg
    assert "The &lt;road&gt;" in svg and "<road>" not in svg


def test_a_visitor_sees_the_map_without_statuses(client, road):
    svg = _map(client.get(reverse("learning:track", args=["road"])).content.decode())
    assert "map-done" not in svg and ", to do" not in svg
    assert svg.count('class="map-node map-todo"') == 5


def test_the_map_follows_a_status_change(client, learner, road):
    _track, (python, *_rest) = road
    client.force_login(learner)
    url = reverse("learning:track", args=["road"])
    assert "map-done" not in _map(client.get(url).content.decode())
    step_status_set(user=learner, step=python, status=Status.DONE)
    assert "map-done" in _map(client.get(url).content.decode())


# --- pace -----------------------------------------------------------------------------


def _done(user, step, days_ago: float) -> None:
    step_status_set(
        user=user,
        step=step,
        status=Status.DONE,
        occurred_at=timezone.now() - timedelta(days=days_ago),
    )


def test_pace_counts_steps_done_one_by_one_in_the_last_four_weeks(learner):
    track = TrackFactory()
    steps = [StepFactory(track=track, estimated_minutes=60, position=n) for n in range(6)]
    _done(learner, steps[0], 3)
    _done(learner, steps[1], 10)
    _done(learner, steps[2], PACE_WINDOW_DAYS + 2)  # too long ago
    step_status_set(user=learner, step=steps[3], status=Status.IN_PROGRESS)  # not done
    other = TrackFactory()
    track_bulk_set(user=learner, track=other, kind="mark_done")  # not study
    StepFactory(track=other)

    assert learner_pace(user_id=learner.pk) == Pace(minutes=120, steps=2)


def test_finish_date_from_pace_and_plain_words_without_history():
    today = timezone.localdate()
    pace = Pace(minutes=28 * 30, steps=10)  # 30 minutes a day
    assert pace.finish_on(remaining_minutes=300, today=today) == today + timedelta(days=10)
    assert pace.finish_on(remaining_minutes=0, today=today) == today
    assert Pace(minutes=60, steps=1).finish_on(remaining_minutes=300, today=today) is None


def test_the_track_page_and_dashboard_say_when_the_learner_finishes(client, learner):
    track = TrackFactory(slug="paced")
    steps = [StepFactory(track=track, estimated_minutes=60, position=n) for n in range(8)]
    client.force_login(learner)
    page = client.get(reverse("learning:track", args=["paced"])).content.decode()
    assert "Too little history to estimate" in page

    for n, days_ago in enumerate((1, 3, 5, 7)):
        _done(learner, steps[n], days_ago)
    # 4 steps of 60 min in 28 days; 240 min left: 28 days.
    expected = (timezone.localdate() + timedelta(days=28)).strftime("%-d %B %Y")
    page = client.get(reverse("learning:track", args=["paced"])).content.decode()
    assert f"you finish around <strong>{expected}</strong>" in page
    dashboard = client.get(reverse("learning:dashboard")).content.decode()
    assert f"At your pace you finish around <strong>{expected}</strong>" in dashboard

    # A click moves the remaining time, and the finish date with it, in place.
    status_url = reverse("learning:step-status", args=["paced", steps[4].key])
    html = client.post(status_url, {"status": Status.DONE}, **HTMX).content.decode()
    sooner = (timezone.localdate() + timedelta(days=21)).strftime("%-d %B %Y")
    assert 'id="track-pace"' in html and sooner in html


def test_the_dashboard_shows_the_week_against_the_goal(client, learner):
    track = TrackFactory()
    for n in range(3):
        step_status_set(user=learner, step=StepFactory(track=track, position=n), status="done")
    client.force_login(learner)
    assert (
        '3</span> <span class="stat-label">steps done this week'
        in client.get(reverse("learning:dashboard")).content.decode()
    )

    ReminderPreferences.objects.create(user=learner, weekly_goal=5)

    page = client.get(reverse("learning:dashboard")).content.decode()
    assert "3 of 5</span>" in page

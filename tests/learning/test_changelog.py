"""What changed since you started: a learner is told, on the track page and the
dashboard, what curators changed on the tracks they follow since their last visit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.content.models import TrackChange
from apps.content.services import step_saved_record, steps_remove
from apps.learning.changelog import changes_summary, track_changelog_for
from apps.learning.models import TrackVisit
from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.factories import StepFactory, StepResourceFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_summary_names_each_noun_once():
    assert (
        changes_summary({"step_added": 2, "step_retired": 1, "resource_replaced": 1})
        == "2 steps added, 1 retired, 1 resource replaced"
    )
    assert changes_summary({"step_changed": 1, "resource_added": 3}) == (
        "1 step changed, 3 resources added"
    )
    assert changes_summary({}) == ""


def _following(learner, steps: int = 3):
    track = TrackFactory(title="Followed")
    made = [StepFactory(track=track, position=i, title=f"Step {i}") for i in range(steps)]
    step_status_set(user=learner, step=made[0], status=Status.DONE)
    return track, made


def _curate(track, made):
    """2 steps added, 1 retired, 1 resource replaced, as a curator would."""
    for key in ("added-one", "added-two"):
        step_saved_record(step=StepFactory(track=track, key=key, title=key), created=True)
    steps_remove(step_ids=[made[2].pk])
    TrackChange.objects.create(
        track=track,
        step=made[1],
        step_key=made[1].key,
        step_title=made[1].title,
        kind=TrackChange.Kind.RESOURCE_REPLACED,
        detail="Old → New",
        occurred_at=timezone.now(),
    )


def test_track_page_tells_what_changed_once_then_the_visit_counts_as_seen(client, learner):
    track, made = _following(learner)
    client.force_login(learner)
    assert (
        "What changed since your last visit"
        not in client.get(reverse("learning:track", args=[track.slug])).content.decode()
    )

    _curate(track, made)
    html = client.get(reverse("learning:track", args=[track.slug])).content.decode()

    assert "What changed since your last visit" in html
    assert "2 steps added, 1 retired, 1 resource replaced." in html
    assert 'href="#step-added-one"' in html  # a step on the track links to it
    assert "Old → New" in html
    # The next visit has nothing new to tell.
    again = client.get(reverse("learning:track", args=[track.slug])).content.decode()
    assert "What changed since your last visit" not in again
    # A later change is told on the visit after it, alone.
    step_saved_record(step=made[0], created=False, changed_fields=["description"])
    later = client.get(reverse("learning:track", args=[track.slug])).content.decode()
    assert "1 step changed." in later and "added" not in later.split("changes-heading")[1][:200]


def test_changes_before_a_learner_followed_the_track_are_not_news(client):
    track = TrackFactory()
    early = StepFactory(track=track)
    step_saved_record(step=StepFactory(track=track), created=True)
    TrackChange.objects.update(occurred_at=timezone.now() - timedelta(days=1))
    newcomer = UserFactory()
    step_status_set(user=newcomer, step=early, status=Status.IN_PROGRESS)
    assert not track_changelog_for(user_id=newcomer.pk, track_id=track.pk)
    # Nor are changes to a track they do not follow.
    stranger = UserFactory()
    step_saved_record(step=StepFactory(track=track), created=True)
    assert not track_changelog_for(user_id=stranger.pk, track_id=track.pk)
    assert track_changelog_for(user_id=newcomer.pk, track_id=track.pk).summary == ("1 step added")


def test_one_learners_visit_does_not_mark_the_changes_seen_for_another(client):
    alice, bob = UserFactory(), UserFactory()
    track, made = _following(alice)
    step_status_set(user=bob, step=made[1], status=Status.DONE)
    _curate(track, made)

    client.force_login(alice)
    client.get(reverse("learning:track", args=[track.slug]))

    assert not track_changelog_for(user_id=alice.pk, track_id=track.pk)
    assert track_changelog_for(user_id=bob.pk, track_id=track.pk).total == 4
    assert TrackVisit.objects.filter(user=bob).count() == 0


def test_dashboard_shows_each_tracks_changes_until_its_page_is_visited(client, learner):
    track, made = _following(learner)
    _following(learner)  # a track with nothing new
    _curate(track, made)
    client.force_login(learner)

    html = client.get(reverse("learning:dashboard")).content.decode()
    assert html.count("What changed since your last visit") == 1
    assert "2 steps added, 1 retired, 1 resource replaced" in html

    client.get(reverse("learning:track", args=[track.slug]))
    html = client.get(reverse("learning:dashboard")).content.decode()
    assert "What changed since your last visit" not in html


def test_a_long_changelog_lists_some_and_counts_all(client, learner, settings):
    settings.STEPWISE_CHANGELOG_ITEMS = 3
    track, _ = _following(learner)
    for n in range(5):
        step_saved_record(step=StepFactory(track=track, key=f"new-{n}"), created=True)
    changelog = track_changelog_for(user_id=learner.pk, track_id=track.pk)
    assert changelog.summary == "5 steps added"
    assert len(changelog.items) == 3 and changelog.more == 2


@pytest.mark.parametrize("tracks", [1, 8])
def test_dashboard_query_budget_with_changes(client, learner, django_assert_num_queries, tracks):
    for _ in range(tracks):
        track, made = _following(learner)
        StepResourceFactory(step=made[0])
        _curate(track, made)
    client.force_login(learner)
    client.get(reverse("learning:dashboard"))
    # 1 session, 2 user, 3 the dashboard's version (with the newest change to the
    # learner's tracks and their last visit): the data and what changed come from the cache
    with django_assert_num_queries(3):
        response = client.get(reverse("learning:dashboard"))
    assert response.content.decode().count("What changed since your last visit") == tracks


def test_the_dashboard_tells_a_new_change_at_once_and_forgets_it_once_seen(client, learner):
    track, made = _following(learner)
    client.force_login(learner)
    assert "What changed" not in client.get(reverse("learning:dashboard")).content.decode()

    step_saved_record(step=made[0], created=False, changed_fields=["title"])
    assert "1 step changed" in client.get(reverse("learning:dashboard")).content.decode()

    client.get(reverse("learning:track", args=[track.slug]))  # told there
    assert "What changed" not in client.get(reverse("learning:dashboard")).content.decode()


def test_track_page_with_changes_to_tell_adds_two_queries(
    client, learner, django_assert_num_queries
):
    track, made = _following(learner, steps=6)
    client.force_login(learner)
    client.get(reverse("learning:track", args=[track.slug]))
    _curate(track, made)
    client.get(reverse("learning:track", args=[track.slug]))  # the step list, cached anew
    step_saved_record(step=made[0], created=False, changed_fields=["title"])
    # 1 session, 2 user, 3 the versions of what the page shows (the figures and step
    # list come from the cache: recording a change alone moves no content revision),
    # 4 what changed since the last visit, 5 marking it seen
    with django_assert_num_queries(5):
        html = client.get(reverse("learning:track", args=[track.slug])).content.decode()
    assert "1 step changed." in html

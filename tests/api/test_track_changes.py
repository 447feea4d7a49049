"""GET /api/v1/tracks/{slug}/changes/ and POST .../changes/seen/: what curators changed
on a track since the learner's last visit, for the apps."""

import pytest

from apps.content.services import step_saved_record, steps_remove
from apps.learning.models import TrackVisit
from apps.progress.models import Status
from apps.progress.services import step_status_set
from tests.factories import StepFactory

pytestmark = pytest.mark.django_db


def _news(track):
    step_saved_record(
        step=StepFactory(track=track, key="brand-new", title="Brand new"), created=True
    )
    steps_remove(step_ids=[track.steps.get(key="s3").pk])


def test_a_follower_reads_what_changed_then_marks_it_seen(alice, track, django_assert_num_queries):
    step_status_set(user=alice.user, step=track.steps.get(key="s0"), status=Status.DONE)
    _news(track)

    # 1-2 the session of the token, 3 its user, 4 the track, 5 what changed
    with django_assert_num_queries(5):
        body = alice.get(f"tracks/{track.slug}/changes/").json()

    assert body["summary"] == "1 step added, 1 retired"
    assert body["counts"] == {"step_added": 1, "step_retired": 1}
    assert [(c["kind"], c["step_key"], c["step_current"]) for c in body["changes"]] == [
        ("step_retired", "s3", False),
        ("step_added", "brand-new", True),
    ]
    assert body["more"] == 0
    # Reading marks nothing seen: the app says what it showed.
    assert alice.get(f"tracks/{track.slug}/changes/").json()["last_id"] == body["last_id"]
    response = alice.post(f"tracks/{track.slug}/changes/seen/", {"up_to": body["last_id"]})
    assert response.status_code == 204
    after = alice.get(f"tracks/{track.slug}/changes/").json()
    assert after == {"summary": "", "counts": {}, "changes": [], "more": 0, "last_id": 0}


def test_changes_after_the_ones_shown_stay_news(alice, track):
    step_status_set(user=alice.user, step=track.steps.get(key="s0"), status=Status.DONE)
    _news(track)
    shown = alice.get(f"tracks/{track.slug}/changes/").json()["last_id"]
    step_saved_record(step=track.steps.get(key="s1"), created=False, changed_fields=["title"])
    alice.post(f"tracks/{track.slug}/changes/seen/", {"up_to": shown})
    assert alice.get(f"tracks/{track.slug}/changes/").json()["summary"] == "1 step changed"


def test_one_learner_cannot_see_or_mark_another_learners_changes(alice, bob, track, anon):
    step_status_set(user=alice.user, step=track.steps.get(key="s0"), status=Status.DONE)
    _news(track)
    last = alice.get(f"tracks/{track.slug}/changes/").json()["last_id"]

    # Bob does not follow the track: nothing is news to him, and his marking is his own.
    assert bob.get(f"tracks/{track.slug}/changes/").json()["summary"] == ""
    assert bob.post(f"tracks/{track.slug}/changes/seen/", {"up_to": last}).status_code == 204
    assert alice.get(f"tracks/{track.slug}/changes/").json()["last_id"] == last
    assert not TrackVisit.objects.filter(user=alice.user).exists()
    # Anonymous callers are refused.
    assert anon.get(f"tracks/{track.slug}/changes/").status_code == 401
    assert anon.post(f"tracks/{track.slug}/changes/seen/", {"up_to": 1}).status_code == 401


def test_bad_input_and_unknown_tracks(alice, track):
    assert alice.get("tracks/nope/changes/").status_code == 404
    assert alice.post("tracks/nope/changes/seen/", {"up_to": 1}).status_code == 404
    for bad in ({}, {"up_to": "3"}, {"up_to": -1}, {"up_to": 2**64}):
        response = alice.post(f"tracks/{track.slug}/changes/seen/", bad)
        assert response.status_code == 400, bad

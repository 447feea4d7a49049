"""The API of notes, "done elsewhere" suggestions and bulk actions with undo."""

import uuid

import pytest

from apps.progress.models import BulkAction, ProgressEvent, Status, StepNote, StepProgress
from apps.progress.services import step_note_set, step_status_set
from tests.factories import ResourceFactory, StepFactory, StepResourceFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_a_note_is_read_and_written_by_its_learner_only(alice, bob, track):
    step = track.steps.get(key="s1")
    url = f"progress/steps/{step.pk}/notes/"
    assert alice.get(url).json() == {"step": step.pk, "body": "", "links": [], "updated_at": None}

    saved = alice.put(url, {"body": "Watch *lecture 3* twice", "links": ["https://a.example/"]})

    assert saved.status_code == 200, saved.content
    assert saved.json()["body"] == "Watch *lecture 3* twice"
    assert alice.get(url).json()["links"] == ["https://a.example/"]
    assert bob.get(url).json()["body"] == ""
    bob.put(url, {"body": "Bob's"})
    assert StepNote.objects.get(user=alice.user).body == "Watch *lecture 3* twice"
    assert "Watch" in str(alice.get("me/export/").json()["notes"])
    assert "Watch" not in str(bob.get("me/export/").json())


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"body": "x" * 20_001}, "body", "at most 20,000 characters"),
        ({"body": 5}, "body", "Expected a string"),
        ({"body": "", "links": ["javascript:alert(1)"]}, "links", "not a web address"),
        ({"links": []}, "body", "required"),
    ],
)
def test_a_bad_note_gets_a_clear_400_and_nothing_is_saved(alice, track, body, field, words):
    step = track.steps.get(key="s1")
    step_note_set(user=alice.user, step=step, body="kept", links=[])

    response = alice.put(f"progress/steps/{step.pk}/notes/", body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"] and words in error["message"]
    assert StepNote.objects.get().body == "kept"


def test_suggestions_list_steps_whose_primary_resource_is_done_elsewhere(alice, bob):
    course = ResourceFactory(title="Machine Learning Specialization")
    first, second = TrackFactory(slug="first"), TrackFactory(slug="second")
    done = StepFactory(track=first, key="ml")
    offered = StepFactory(track=second, key="ml-too")
    StepResourceFactory(step=done, resource=course)
    StepResourceFactory(step=offered, resource=course)
    step_status_set(user=alice.user, step=StepFactory(track=second), status=Status.IN_PROGRESS)
    step_status_set(user=alice.user, step=done, status=Status.DONE)

    body = alice.get("progress/suggestions/").json()

    assert body["done_elsewhere"] == [
        {
            "step": offered.pk,
            "step_key": "ml-too",
            "step_title": offered.title,
            "track": "second",
            "track_title": second.title,
            "resource": course.pk,
            "resource_title": "Machine Learning Specialization",
            "done_in": "first",
            "done_in_title": first.title,
        }
    ]
    assert bob.get("progress/suggestions/").json() == {"done_elsewhere": []}


def test_bulk_mark_done_is_idempotent_by_key_and_undone_by_its_learner_only(alice, bob, track):
    key = str(uuid.uuid4())
    url = f"progress/tracks/{track.slug}/bulk/"

    first = alice.post(url, {"action": "mark_done", "idempotency_key": key})
    again = alice.post(url, {"action": "mark_done", "idempotency_key": key})

    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["steps_changed"] == 4 and first.json()["kind"] == "mark_done"
    assert set(StepProgress.objects.filter(user=alice.user).values_list("status", flat=True)) == {
        "done"
    }
    assert alice.get("progress/").json()["enrollments"][0]["percent"] == 100
    action_id = first.json()["id"]

    # Bob can neither undo it nor tell it exists.
    assert bob.post(f"progress/bulk/{action_id}/undo/").status_code == 404
    assert alice.post(f"progress/bulk/{uuid.uuid4()}/undo/").status_code == 404
    assert alice.post("progress/bulk/not-a-uuid/undo/").status_code == 404

    undo = alice.post(f"progress/bulk/{action_id}/undo/")
    assert undo.status_code == 201 and undo.json()["undoes"] == action_id
    assert not StepProgress.objects.filter(user=alice.user, status=Status.DONE).exists()
    assert alice.post(f"progress/bulk/{action_id}/undo/").status_code == 200
    # Every change, bulk or undone, is in the changes feed for the other devices.
    changes = alice.get("progress/changes/").json()["changes"]
    assert len(changes) == 8
    assert ProgressEvent.objects.filter(user=bob.user).count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "delete_all", "idempotency_key": "k"}, "action"),
        ({"action": "reset"}, "idempotency_key"),
        ({"action": "reset", "idempotency_key": "k" * 65}, "idempotency_key"),
    ],
)
def test_a_bad_bulk_action_gets_a_clear_400(alice, track, body, field):
    response = alice.post(f"progress/tracks/{track.slug}/bulk/", body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not BulkAction.objects.exists()


def test_bulk_actions_on_an_unknown_track_are_404(alice):
    response = alice.post("progress/tracks/nope/bulk/", {"action": "reset", "idempotency_key": "k"})
    assert response.status_code == 404


def test_anonymous_gets_401_on_bulk_actions(anon, track):
    url = f"progress/tracks/{track.slug}/bulk/"
    assert anon.post(url, {"action": "reset", "idempotency_key": "k"}).status_code == 401
    assert anon.post(f"progress/bulk/{uuid.uuid4()}/undo/").status_code == 401

"""GET progress/, GET/PUT progress/steps/{id}/."""

import pytest
from django.db import connection

from apps.progress.models import Enrollment, ProgressEvent, Status
from apps.progress.services import step_status_set
from tests.api.conftest import build_track

pytestmark = pytest.mark.django_db


def test_put_sets_the_status_and_enrolls_on_the_first_change(alice, track):
    step = track.steps.get(key="s0")

    response = alice.put(f"progress/steps/{step.pk}/", {"status": "done"})

    assert response.status_code == 200
    body = response.json()
    assert (body["step"], body["track"], body["status"]) == (step.pk, "llm-basics", "done")
    assert body["completed_at"] is not None
    assert Enrollment.objects.filter(user=alice.user, track=track).exists()
    event = ProgressEvent.objects.get(user=alice.user)
    assert (event.from_status, event.to_status, event.source) == ("todo", "done", "api")


def test_the_same_put_twice_records_one_event(alice, track):
    step = track.steps.get(key="s0")

    first = alice.put(f"progress/steps/{step.pk}/", {"status": "in_progress"})
    second = alice.put(f"progress/steps/{step.pk}/", {"status": "in_progress"})

    assert first.json() == second.json()
    assert ProgressEvent.objects.filter(user=alice.user).count() == 1


def test_get_step_is_todo_until_touched(alice, track):
    step = track.steps.get(key="s1")

    body = alice.get(f"progress/steps/{step.pk}/").json()

    assert body["status"] == "todo"
    assert body["status_changed_at"] is None


@pytest.mark.parametrize(
    ("payload", "message_part"),
    [
        ({"status": "finished"}, "is not a step status; use one of todo, in_progress"),
        ({"status": 3}, "is not a step status"),
        ({"status": None}, "may not be null"),
        ({}, "required"),
        ({"status": "do\x00ne"}, "is not a step status"),
        (["done"], "Expected a dictionary"),
    ],
)
def test_put_with_bad_input_is_400_and_changes_nothing(alice, track, payload, message_part):
    step = track.steps.get(key="s0")

    response = alice.put(f"progress/steps/{step.pk}/", payload)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert message_part in error["message"]
    assert not ProgressEvent.objects.exists()


def test_unknown_or_unpublished_step_is_404(alice):
    draft = build_track(steps=1, slug="draft", is_published=False).steps.get()

    for step_id in (draft.pk, 999_999, 2**63 - 1, 2**70):
        for response in (
            alice.get(f"progress/steps/{step_id}/"),
            alice.put(f"progress/steps/{step_id}/", {"status": "done"}),
        ):
            assert response.status_code == 404, step_id
            assert response.json()["error"]["code"] == "not_found"
    assert not ProgressEvent.objects.exists()


def test_dashboard_shows_enrollments_streak_and_next_step(alice, track):
    steps = list(track.steps.order_by("position"))
    step_status_set(user=alice.user, step=steps[0], status=Status.DONE)

    body = alice.get("progress/").json()

    (enrollment,) = body["enrollments"]
    assert enrollment["track"]["slug"] == "llm-basics"
    assert (enrollment["steps_done"], enrollment["steps_total"], enrollment["percent"]) == (
        1,
        4,
        25,
    )
    assert enrollment["remaining_minutes"] == 180
    assert enrollment["next_step"]["key"] == "s1"
    assert body["streak"]["current"] == 1
    assert body["last_activity_at"] is not None
    assert body["recent"][0]["step_id"] == steps[0].pk


def test_dashboard_is_a_fixed_number_of_queries(alice, django_assert_num_queries):
    for n in range(5):
        track = build_track(steps=10, slug=f"t{n}")
        for step in track.steps.all()[:3]:
            step_status_set(user=alice.user, step=step, status=Status.DONE)
    # 1-3 session (exists, load) and user; 4 enrollments with tracks; 5 completion of every
    # track at once; 6-8 next steps (steps, prerequisite edges, finished steps); 9 activity
    # per day; 10 recently completed
    with django_assert_num_queries(10):
        response = alice.get("progress/")
    assert len(response.json()["enrollments"]) == 5


def test_put_is_a_fixed_number_of_queries(alice, track, django_assert_num_queries):
    step = track.steps.get(key="s0")
    # 1-3 session (exists, load) and user; 4 the published step with its track;
    # step_status_set on PostgreSQL: 5 one statement (learner lock, progress row, event,
    # enrollment); elsewhere row by row: 5 savepoint, 6 the learner's row lock, 7 progress
    # row for update, 8-10 savepoint, insert it, release; 11 update it; 12 insert the
    # event; 13 enrollment lookup, 14-16 savepoint, insert it, release; 17 release;
    # then the progress read back for the answer (6, or 18)
    expected = 6 if connection.vendor == "postgresql" else 18
    with django_assert_num_queries(expected):
        response = alice.put(f"progress/steps/{step.pk}/", {"status": "done"})
    assert response.status_code == 200

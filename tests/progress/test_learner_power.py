"""Bulk actions with undo, notes, and progress that follows a shared resource."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content.models import Step
from apps.core.errors import ApplicationError
from apps.progress.models import BulkAction, ProgressEvent, Status, StepNote, StepProgress
from apps.progress.selectors import (
    activity_by_day,
    bulk_action_for,
    done_elsewhere_for,
    learner_dashboard,
    learner_step_extras,
    learner_track_progress,
)
from apps.progress.services import (
    bulk_action_undo,
    step_note_set,
    step_status_set,
    track_bulk_set,
)
from tests.factories import (
    ResourceFactory,
    StepFactory,
    StepResourceFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _track(steps: int = 4):
    track = TrackFactory()
    return track, [StepFactory(track=track, position=i, key=f"s{i}") for i in range(steps)]


def _statuses(user, steps) -> list[str]:
    rows = dict(StepProgress.objects.filter(user=user).values_list("step_id", "status"))
    return [rows.get(step.pk, Status.TODO) for step in steps]


# --- bulk actions -----------------------------------------------------------------------


def test_mark_all_done_then_undo_restores_every_status_and_time(learner):
    track, steps = _track(4)
    long_ago = timezone.now() - timedelta(days=30)
    step_status_set(user=learner, step=steps[0], status=Status.DONE, occurred_at=long_ago)
    step_status_set(user=learner, step=steps[1], status=Status.IN_PROGRESS, occurred_at=long_ago)
    step_status_set(user=learner, step=steps[2], status=Status.SKIPPED, occurred_at=long_ago)

    result = track_bulk_set(user=learner, track=track, kind=BulkAction.Kind.MARK_DONE)

    assert _statuses(learner, steps) == ["done"] * 4
    assert result.action.steps_changed == 3
    assert set(result.action.events.values_list("step_id", flat=True)) == {
        steps[1].pk,
        steps[2].pk,
        steps[3].pk,
    }
    assert learner_track_progress(user_id=learner.pk, track_id=track.pk).completion.percent == 100

    undo = bulk_action_undo(user=learner, action=result.action)

    assert _statuses(learner, steps) == ["done", "in_progress", "skipped", "todo"]
    assert undo.action.undoes == result.action and undo.action.steps_changed == 3
    first = StepProgress.objects.get(user=learner, step=steps[0])
    assert first.completed_at == long_ago  # untouched by the bulk action
    second = StepProgress.objects.get(user=learner, step=steps[1])
    assert second.started_at == long_ago and second.completed_at is None


def test_reset_then_undo_gives_back_the_completion_times(learner):
    track, steps = _track(3)
    when = timezone.now() - timedelta(days=3)
    for step in steps:
        step_status_set(user=learner, step=step, status=Status.DONE, occurred_at=when)

    action = track_bulk_set(user=learner, track=track, kind=BulkAction.Kind.RESET).action
    assert _statuses(learner, steps) == ["todo"] * 3
    assert learner_track_progress(user_id=learner.pk, track_id=track.pk).completion.percent == 0

    bulk_action_undo(user=learner, action=action)
    assert _statuses(learner, steps) == ["done"] * 3
    assert set(
        StepProgress.objects.filter(user=learner).values_list("completed_at", flat=True)
    ) == {when}


def test_undo_keeps_a_change_the_learner_made_after_the_bulk_action(learner):
    track, steps = _track(2)
    action = track_bulk_set(user=learner, track=track, kind=BulkAction.Kind.MARK_DONE).action
    step_status_set(user=learner, step=steps[0], status=Status.IN_PROGRESS)

    bulk_action_undo(user=learner, action=action)

    assert _statuses(learner, steps) == ["in_progress", "todo"]


def test_undo_twice_changes_nothing_the_second_time(learner):
    track, _steps = _track(2)
    action = track_bulk_set(user=learner, track=track, kind=BulkAction.Kind.MARK_DONE).action
    first = bulk_action_undo(user=learner, action=action)
    events = ProgressEvent.objects.count()

    again = bulk_action_undo(user=learner, action=action)

    assert again.replayed and again.action == first.action
    assert ProgressEvent.objects.count() == events


def test_a_bulk_action_with_the_same_key_is_done_once(learner):
    track, steps = _track(3)
    first = track_bulk_set(
        user=learner, track=track, kind=BulkAction.Kind.MARK_DONE, idempotency_key="k-1"
    )
    step_status_set(user=learner, step=steps[0], status=Status.TODO)

    again = track_bulk_set(
        user=learner, track=track, kind=BulkAction.Kind.MARK_DONE, idempotency_key="k-1"
    )

    assert again.replayed and again.action == first.action
    assert _statuses(learner, steps) == ["todo", "done", "done"]
    with pytest.raises(ApplicationError, match="another action"):
        track_bulk_set(user=learner, track=track, kind=BulkAction.Kind.RESET, idempotency_key="k-1")


def test_an_unknown_bulk_action_is_refused_and_changes_nothing(learner):
    track, _steps = _track(2)
    with pytest.raises(ApplicationError, match="not a bulk action"):
        track_bulk_set(user=learner, track=track, kind="delete_everything")
    assert not StepProgress.objects.exists() and not BulkAction.objects.exists()


def test_a_bulk_mark_is_not_a_day_of_study(learner):
    track, steps = _track(5)
    step_status_set(
        user=learner,
        step=steps[0],
        status=Status.DONE,
        occurred_at=timezone.now() - timedelta(days=1),
    )
    today = timezone.localdate()

    track_bulk_set(user=learner, track=track, kind=BulkAction.Kind.MARK_DONE)

    assert today not in activity_by_day(user=learner)
    streak = learner_dashboard(user=learner).streak
    assert (streak.current, streak.active_today) == (1, False)


def test_bulk_actions_skip_retired_steps_and_are_the_learners_own(learner):
    track, steps = _track(3)
    Step.objects.filter(pk=steps[2].pk).update(retired_at=timezone.now())
    action = track_bulk_set(user=learner, track=track, kind=BulkAction.Kind.MARK_DONE).action
    assert action.steps_changed == 2

    other = UserFactory()
    assert bulk_action_for(user_id=other.pk, action_id=str(action.pk)) is None
    assert bulk_action_for(user_id=learner.pk, action_id="not-a-uuid") is None
    with pytest.raises(ApplicationError):
        bulk_action_undo(user=other, action=action)
    assert _statuses(learner, steps[:2]) == ["done", "done"]


# --- notes ------------------------------------------------------------------------------


def test_a_note_is_kept_replaced_and_cleared(learner):
    step = StepFactory()
    step_note_set(
        user=learner, step=step, body="**Try** the exercises", links=["https://a.example/x"]
    )
    step_note_set(user=learner, step=step, body="Second thoughts", links=[])
    note = StepNote.objects.get()
    assert (note.body, note.links) == ("Second thoughts", [])

    step_note_set(user=learner, step=step, body="", links=[])
    assert StepNote.objects.get().is_empty


@pytest.mark.parametrize(
    ("body", "links", "message"),
    [
        ("x" * 20_001, [], "at most 20,000 characters"),
        ("", ["javascript:alert(1)"], "not a web address"),
        ("", ["ftp://files.example/a"], "not a web address"),
        ("", [f"https://a.example/{n}" for n in range(21)], "at most 20 links"),
        ("", ["https://a.example/" + "x" * 500], "at most 500 characters"),
    ],
)
def test_a_note_past_a_limit_is_refused_and_nothing_is_saved(learner, body, links, message):
    step = StepFactory()
    step_note_set(user=learner, step=step, body="kept", links=[])
    with pytest.raises(ApplicationError, match=message):
        step_note_set(user=learner, step=step, body=body, links=links)
    assert StepNote.objects.get().body == "kept"


# --- done elsewhere ---------------------------------------------------------------------


def _shared_course():
    """The same course first in a step of two tracks, and a third track that lists it
    second only."""
    course = ResourceFactory(title="Machine Learning Specialization")
    tracks = [TrackFactory(position=n) for n in range(3)]
    steps = [StepFactory(track=t, key="ml", title=f"ML in {t.title}") for t in tracks]
    StepResourceFactory(step=steps[0], resource=course, position=0)
    StepResourceFactory(step=steps[1], resource=course, position=0)
    StepResourceFactory(step=steps[2], resource=ResourceFactory(), position=0)
    StepResourceFactory(step=steps[2], resource=course, position=1)
    return course, tracks, steps


def test_finishing_a_resource_in_one_track_is_offered_in_the_others(learner):
    course, tracks, steps = _shared_course()
    for track in tracks:
        step_status_set(
            user=learner, step=StepFactory(track=track, position=5), status="in_progress"
        )
    step_status_set(user=learner, step=steps[0], status=Status.DONE)

    offered = done_elsewhere_for(user_id=learner.pk)

    # The third track lists the course, but not as the step's primary resource.
    assert [(o.step_id, o.done_in_slug, o.resource_title) for o in offered] == [
        (steps[1].pk, tracks[0].slug, course.title)
    ]
    # Never applied by itself.
    assert not StepProgress.objects.filter(step=steps[1]).exists()
    # Marked done here too, it is no longer offered; nor to another learner ever.
    step_status_set(user=learner, step=steps[1], status=Status.DONE)
    assert done_elsewhere_for(user_id=learner.pk) == []
    assert done_elsewhere_for(user_id=UserFactory().pk) == []


def test_the_track_page_extras_carry_the_note_and_the_offer(learner, django_assert_num_queries):
    _course, tracks, steps = _shared_course()
    step_status_set(user=learner, step=steps[0], status=Status.DONE)
    step_note_set(user=learner, step=steps[1], body="my note", links=["https://n.example/"])

    with django_assert_num_queries(1):
        extras = learner_step_extras(user_id=learner.pk, steps=Step.objects.filter(track=tracks[1]))

    assert extras[steps[1].pk].note == "my note"
    assert extras[steps[1].pk].links == ["https://n.example/"]
    assert extras[steps[1].pk].done_in == (tracks[0].slug, tracks[0].title)
    # Another learner sees neither.
    assert (
        learner_step_extras(user_id=UserFactory().pk, steps=Step.objects.filter(track=tracks[1]))
        == {}
    )

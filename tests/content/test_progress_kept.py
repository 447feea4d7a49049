"""Progress is never lost: a curator renames, rewords, reorders, removes and restores
steps, and every learner keeps every status, event, their completion and their streak."""

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.content.models import ContentRevision, Step, Track
from apps.content.selectors import track_list
from apps.content.services import roadmaps_load, steps_remove, steps_restore
from apps.progress.models import ProgressEvent, Status, StepProgress
from apps.progress.selectors import (
    completion_for,
    learner_completions_for,
    learner_dashboard,
    next_steps_for,
)
from apps.progress.services import SyncOperation, SyncOutcome, progress_sync, step_status_set
from tests.factories import StepFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

V1 = """
slug: kept
title: Progress kept
level: beginner
groups:
  - key: first-course
    title: A first course
    steps: [course-a, course-b]
steps:
  - key: intro
    title: Introduction
    description: Where to start.
    minutes: 30
  - key: python
    title: Python
    minutes: 600
  - key: course-a
    title: Course A
    minutes: 3000
  - key: course-b
    title: Course B
    minutes: 1200
  - key: project
    title: A project
    minutes: 900
    prerequisites: [python, first-course]
  - key: extras
    title: Extras
    minutes: 60
    optional: true
"""

# Renamed and reworded intro, a new order, python and the untouched extras removed.
V2 = """
slug: kept
title: Progress kept
level: beginner
groups:
  - key: first-course
    title: A first course
    steps: [course-a, course-b]
steps:
  - key: course-a
    title: Course A
    minutes: 3000
  - key: intro
    title: Welcome
    description: Where everyone starts, reworded.
    minutes: 45
  - key: course-b
    title: Course B
    minutes: 1200
  - key: project
    title: A project
    minutes: 900
    prerequisites: [first-course]
"""

# Python comes back under its old key, with a new title.
V3 = V1.replace("title: Python\n", "title: Python, again\n")


def _load(tmp_path: Path, text: str):
    path = tmp_path / "kept.yaml"
    path.write_text(textwrap.dedent(text))
    return roadmaps_load(paths=[path])


def _snapshot(users, track):
    """Everything a learner could lose, per learner."""
    today = timezone.localdate()
    result = {}
    for user in users:
        result[user.pk] = {
            "statuses": dict(
                StepProgress.objects.filter(user=user).values_list("step__key", "status")
            ),
            "events": list(
                ProgressEvent.objects.filter(user=user)
                .order_by("pk")
                .values_list("pk", "step__key", "from_status", "to_status", "occurred_at")
            ),
            "streak": learner_dashboard(user=user, today=today).streak,
        }
    return result


def test_reimport_that_renames_reorders_removes_and_restores_keeps_every_learners_progress(
    tmp_path,
):
    # Given a track and two learners with history over four days.
    _load(tmp_path, V1)
    track = Track.objects.get(slug="kept")
    step = {s.key: s for s in Step.objects.filter(track=track)}
    alice, bob = UserFactory(), UserFactory()
    now = timezone.now()
    for user, key, status, days_ago in [
        (alice, "intro", Status.DONE, 3),
        (alice, "python", Status.IN_PROGRESS, 3),
        (alice, "python", Status.DONE, 2),
        (alice, "course-b", Status.DONE, 1),  # the alternative, not course A
        (alice, "project", Status.IN_PROGRESS, 0),
        (bob, "intro", Status.SKIPPED, 1),
        (bob, "course-a", Status.IN_PROGRESS, 0),
    ]:
        step_status_set(
            user=user, step=step[key], status=status, occurred_at=now - timedelta(days=days_ago)
        )
    before = _snapshot([alice, bob], track)
    completion_before = completion_for(user_ids=[alice.pk, bob.pk], track_ids=[track.pk])
    assert completion_before[(alice.pk, track.pk)].percent == 75  # intro, python, group of 4
    assert before[alice.pk]["streak"].current == 4

    # When the file renames, rewords and reorders steps and drops python and extras.
    report = _load(tmp_path, V2)

    # Then python (alice finished it) is retired with its progress, extras (nobody
    # touched it) is gone, and nothing any learner had changed.
    assert (report.steps.retired, report.steps.deleted) == (1, 1)
    python = Step.objects.get(track=track, key="python")
    assert python.retired_at is not None
    assert not Step.objects.filter(track=track, key="extras").exists()
    assert Step.objects.get(track=track, key="intro").title == "Welcome"
    assert list(Step.objects.current().filter(track=track).values_list("key", flat=True)) == [
        "course-a",
        "intro",
        "course-b",
        "project",
    ]
    during = _snapshot([alice, bob], track)
    assert during == before
    # Completion counts only the steps still in the track: intro, the group, the project.
    alice_now = learner_completions_for(user_id=alice.pk, track_ids=[track.pk])[track.pk]
    assert (alice_now.required_total, alice_now.required_done) == (3, 2)
    assert alice_now.percent == 66
    assert (
        alice_now == completion_for(user_ids=[alice.pk], track_ids=[track.pk])[(alice.pk, track.pk)]
    )
    listed = track_list().get(pk=track.pk)
    assert (listed.step_count, listed.total_minutes) == (4, 3000 + 45 + 1200 + 900)

    # When python comes back under its old key.
    report = _load(tmp_path, V3)

    # Then it returns with alice's progress, and every figure is what it was.
    assert report.steps.restored == 1
    python.refresh_from_db()
    assert python.retired_at is None and python.title == "Python, again"
    assert _snapshot([alice, bob], track) == before
    assert completion_for(user_ids=[alice.pk, bob.pk], track_ids=[track.pk]) == completion_before
    assert list(python.prerequisites.all()) == []
    assert set(Step.objects.get(track=track, key="project").prerequisites.all()) == {python}


def test_a_retired_step_is_hidden_from_the_track_page_and_the_api(tmp_path, client, learner):
    _load(tmp_path, V1)
    track = Track.objects.get(slug="kept")
    python = Step.objects.get(track=track, key="python")
    step_status_set(user=learner, step=python, status=Status.DONE)

    _load(tmp_path, V2)

    client.force_login(learner)
    page = client.get(reverse("learning:track", args=["kept"])).content.decode()
    assert 'id="step-python"' not in page and 'id="step-intro"' in page
    api = Client().get("/api/v1/tracks/kept/").json()
    assert [s["key"] for s in api["steps"]] == ["course-a", "intro", "course-b", "project"]
    assert api["step_count"] == 4
    # Marking it is refused as for any step not in a published track.
    response = client.post(
        reverse("learning:step-status", args=["kept", "python"]), {"status": "todo"}
    )
    assert response.status_code == 404
    assert StepProgress.objects.get(user=learner, step=python).status == Status.DONE


def test_a_retired_prerequisite_no_longer_holds_back_the_next_step(learner):
    track = TrackFactory()
    first = StepFactory(track=track, position=1)
    second = StepFactory(track=track, position=2)
    second.prerequisites.add(first)
    StepFactory(track=track, position=3)
    step_status_set(user=learner, step=first, status=Status.IN_PROGRESS)
    assert next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk].id == first.pk

    steps_remove(step_ids=[first.pk])

    assert next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk].id == second.pk


def test_remove_deletes_only_steps_nobody_has_progress_on(learner):
    track = TrackFactory()
    touched, untouched = StepFactory(track=track), StepFactory(track=track)
    step_status_set(user=learner, step=touched, status=Status.DONE)  # leaves an event
    StepProgress.objects.filter(step=touched).delete()

    removal = steps_remove(step_ids=[touched.pk, untouched.pk])

    assert (removal.retired, removal.deleted) == ([touched.pk], [untouched.pk])
    assert not Step.objects.filter(pk=untouched.pk).exists()
    assert ProgressEvent.objects.filter(step=touched).count() == 1
    assert steps_restore(step_ids=[touched.pk]) == 1
    assert Step.objects.current().filter(pk=touched.pk).exists()


def test_a_retired_step_cannot_be_marked_from_a_device_and_keeps_its_status(learner):
    step = StepFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)
    steps_remove(step_ids=[step.pk])

    result = progress_sync(
        user=learner,
        operations=[
            SyncOperation(
                op_id="retired-1", step_id=step.pk, status=Status.TODO, occurred_at=timezone.now()
            )
        ],
    )

    assert [r.result for r in result.results] == [SyncOutcome.REJECTED]
    assert StepProgress.objects.get(user=learner, step=step).status == Status.DONE


def test_retiring_and_restoring_move_the_content_revision(learner):
    step = StepFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)
    before = ContentRevision.objects.get(pk=1).number

    steps_remove(step_ids=[step.pk])
    retired = ContentRevision.objects.get(pk=1).number
    steps_restore(step_ids=[step.pk])

    assert before < retired < ContentRevision.objects.get(pk=1).number


def test_the_api_answers_404_for_a_retired_step(client, learner):
    step = StepFactory()
    step_status_set(user=learner, step=step, status=Status.DONE)
    steps_remove(step_ids=[step.pk])
    client.force_login(learner)

    assert client.get(f"/api/v1/progress/steps/{step.pk}/").status_code == 404

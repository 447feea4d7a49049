import pytest

from apps.progress.models import Status
from apps.progress.selectors import completion_for, step_statuses_for
from apps.progress.services import step_status_set
from tests.factories import StepFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def _track(required: int, optional: int = 0, minutes: int = 60):
    track = TrackFactory()
    req = [StepFactory(track=track, estimated_minutes=minutes) for _ in range(required)]
    opt = [
        StepFactory(track=track, is_optional=True, estimated_minutes=minutes)
        for _ in range(optional)
    ]
    return track, req, opt


def test_percent_counts_done_required_over_required_not_skipped(learner):
    track, req, opt = _track(required=5, optional=2)
    step_status_set(user=learner, step=req[0], status=Status.DONE)
    step_status_set(user=learner, step=req[1], status=Status.DONE)
    step_status_set(user=learner, step=req[2], status=Status.SKIPPED)
    step_status_set(user=learner, step=req[3], status=Status.IN_PROGRESS)
    step_status_set(user=learner, step=opt[0], status=Status.DONE)

    c = completion_for(user_ids=[learner.pk], track_ids=[track.pk])[(learner.pk, track.pk)]

    # 2 done ÷ (5 required - 1 skipped) = 50 %
    assert c.percent == 50
    assert (c.required_total, c.required_done, c.required_skipped) == (5, 2, 1)
    assert (c.optional_total, c.optional_done, c.in_progress) == (2, 1, 1)
    assert (c.steps_total, c.steps_done) == (7, 3)
    assert c.total_minutes == 7 * 60
    # Two required steps (in progress and to do) are left: 120 minutes.
    assert c.remaining_minutes == 120


def test_percent_is_floored_so_100_means_done(learner):
    track, req, _ = _track(required=3)
    for step in req[:2]:
        step_status_set(user=learner, step=step, status=Status.DONE)

    c = completion_for(user_ids=[learner.pk], track_ids=[track.pk])[(learner.pk, track.pk)]

    assert c.percent == 66
    assert not c.is_complete


def test_optional_steps_never_block_100_percent(learner):
    track, req, _opt = _track(required=2, optional=3)
    for step in req:
        step_status_set(user=learner, step=step, status=Status.DONE)

    c = completion_for(user_ids=[learner.pk], track_ids=[track.pk])[(learner.pk, track.pk)]

    assert c.percent == 100
    assert c.is_complete
    assert c.remaining_minutes == 0


def test_skipping_every_required_step_completes_the_track(learner):
    track, req, _ = _track(required=2)
    for step in req:
        step_status_set(user=learner, step=step, status=Status.SKIPPED)

    c = completion_for(user_ids=[learner.pk], track_ids=[track.pk])[(learner.pk, track.pk)]

    assert c.percent == 100


def test_learner_without_progress_gets_zero(learner):
    track, _, _ = _track(required=4)

    c = completion_for(user_ids=[learner.pk], track_ids=[track.pk])[(learner.pk, track.pk)]

    assert c.percent == 0
    assert c.remaining_minutes == 240


def test_each_learner_sees_only_their_own_progress():
    track, req, _ = _track(required=4)
    alice, bob = UserFactory(), UserFactory()
    step_status_set(user=alice, step=req[0], status=Status.DONE)

    result = completion_for(user_ids=[alice.pk, bob.pk], track_ids=[track.pk])

    assert result[(alice.pk, track.pk)].percent == 25
    assert result[(bob.pk, track.pk)].percent == 0


def test_completion_takes_two_queries_whatever_the_size(django_assert_num_queries):
    users = [UserFactory() for _ in range(3)]
    tracks = []
    for _ in range(10):
        track, req, _ = _track(required=30)
        tracks.append(track)
        for user in users:
            step_status_set(user=user, step=req[0], status=Status.DONE)

    # 1 step aggregates per track, 2 progress aggregates per (user, track)
    with django_assert_num_queries(2):
        result = completion_for(user_ids=[u.pk for u in users], track_ids=[t.pk for t in tracks])

    assert len(result) == 30
    assert {c.percent for c in result.values()} == {3}  # 1 of 30, floored


def test_completion_of_the_pairs_asked_for_only(django_assert_num_queries):
    (first, req1, _), (second, req2, _) = _track(required=4), _track(required=2)
    alice, bob = UserFactory(), UserFactory()
    step_status_set(user=alice, step=req1[0], status=Status.DONE)
    step_status_set(user=bob, step=req2[0], status=Status.DONE)

    pairs = [(alice.pk, first.pk), (bob.pk, second.pk)]
    with django_assert_num_queries(2):
        result = completion_for(pairs=pairs)

    assert set(result) == set(pairs)
    assert result[(alice.pk, first.pk)].percent == 25
    assert result[(bob.pk, second.pk)].percent == 50
    with pytest.raises(TypeError):  # the learners and tracks follow from the pairs
        completion_for(user_ids=[alice.pk], pairs=pairs)


def test_empty_input_costs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert completion_for(user_ids=[], track_ids=[1]) == {}


def test_step_statuses_default_to_todo(learner):
    _, req, _ = _track(required=3)
    step_status_set(user=learner, step=req[1], status=Status.SKIPPED)

    statuses = step_statuses_for(user_id=learner.pk, step_ids=[s.pk for s in req])

    assert statuses == {req[0].pk: "todo", req[1].pk: "skipped", req[2].pk: "todo"}


@pytest.mark.parametrize("seed", range(5))
def test_completion_of_steps_agrees_with_completion_for(learner, seed):
    import random

    from apps.progress.selectors import completion_of_steps

    rng = random.Random(seed)
    track, req, opt = _track(required=6, optional=3, minutes=45)
    for step in req + opt:
        status = rng.choice(["todo", "in_progress", "done", "skipped"])
        if status != "todo":
            step_status_set(user=learner, step=step, status=status)
    statuses = step_statuses_for(user_id=learner.pk, step_ids=[s.pk for s in req + opt])

    in_python = completion_of_steps(
        user_id=learner.pk,
        track_id=track.pk,
        steps=[(s.pk, s.is_optional, s.estimated_minutes) for s in req + opt],
        statuses=statuses,
    )

    assert (
        in_python
        == completion_for(user_ids=[learner.pk], track_ids=[track.pk])[(learner.pk, track.pk)]
    )

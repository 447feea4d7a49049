from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.progress.models import Status
from apps.progress.selectors import learner_dashboard, next_steps_for, streak_from_days
from apps.progress.services import step_status_set
from tests.factories import StepFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_new_learner_has_an_empty_dashboard(learner):
    dashboard = learner_dashboard(user=learner)
    assert dashboard.is_empty
    assert dashboard.streak.current == 0
    assert len(dashboard.activity) == 84
    assert dashboard.activity[-1].day == dashboard.today


def test_next_step_skips_finished_and_waits_for_prerequisites(learner):
    track = TrackFactory()
    a, b, c, d = (StepFactory(track=track, position=i) for i in range(4))
    c.prerequisites.add(b)
    step_status_set(user=learner, step=a, status=Status.DONE)
    # b is in progress: it is the next step.
    step_status_set(user=learner, step=b, status=Status.IN_PROGRESS)
    assert next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk].id == b.pk

    # b skipped: c's prerequisite is met, so c is next.
    step_status_set(user=learner, step=b, status=Status.SKIPPED)
    assert next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk].id == c.pk
    assert d.pk


def test_step_with_unmet_prerequisite_is_passed_over(learner):
    track = TrackFactory()
    a, b, c = (StepFactory(track=track, position=i) for i in range(3))
    a.prerequisites.add(c)  # a needs c, which comes later
    nxt = next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk]
    assert nxt.id == b.pk


def test_finished_track_has_no_next_step(learner):
    track = TrackFactory()
    for step in [StepFactory(track=track), StepFactory(track=track)]:
        step_status_set(user=learner, step=step, status=Status.DONE)
    assert next_steps_for(user_id=learner.pk, track_ids=[track.pk])[track.pk] is None


def test_streak_counts_consecutive_days_and_survives_until_today_ends():
    today = date(2026, 3, 10)
    days = [date(2026, 3, d) for d in (1, 2, 3, 4, 7, 8, 9)]

    streak = streak_from_days(days, today=today)

    assert (streak.current, streak.longest, streak.active_today) == (3, 4, False)
    assert streak.at_risk
    assert streak_from_days([*days, today], today=today).current == 4
    assert streak_from_days(days[:4], today=today).current == 0


def test_activity_days_follow_the_learners_time_zone():
    # 23:30 UTC on 1 March is already 2 March in Tokyo.
    tokyo = UserFactory(timezone="Asia/Tokyo")
    step = StepFactory()
    when = datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("UTC"))
    step_status_set(user=tokyo, step=step, status=Status.DONE, occurred_at=when)

    dashboard = learner_dashboard(user=tokyo, today=date(2026, 3, 2))

    assert dashboard.activity[-1].count == 1
    assert dashboard.streak.current == 1 and dashboard.streak.active_today


def test_dashboard_lists_enrollments_with_completion_and_recent_steps(learner):
    track = TrackFactory(title="Deep learning")
    steps = [StepFactory(track=track, position=i, estimated_minutes=30) for i in range(4)]
    step_status_set(user=learner, step=steps[0], status=Status.DONE)
    step_status_set(user=learner, step=steps[1], status=Status.DONE)

    dashboard = learner_dashboard(user=learner)

    [summary] = dashboard.enrollments
    assert summary.track == track
    assert summary.completion.percent == 50
    assert summary.completion.remaining_minutes == 60
    assert summary.next_step.id == steps[2].pk
    assert [r.step_id for r in dashboard.recent] == [steps[1].pk, steps[0].pk]
    assert sum(d.count for d in dashboard.activity) == 2


def _enroll(user, tracks: int, steps: int) -> None:
    for _ in range(tracks):
        track = TrackFactory()
        made = [StepFactory(track=track, position=i) for i in range(steps)]
        made[1].prerequisites.add(made[0])
        step_status_set(
            user=user,
            step=made[0],
            status=Status.DONE,
            occurred_at=datetime.now(ZoneInfo("UTC")) - timedelta(days=3),
        )
        step_status_set(user=user, step=made[2], status=Status.SKIPPED)


@pytest.mark.parametrize(("tracks", "steps"), [(1, 5), (10, 30)])
def test_dashboard_takes_eight_queries_whatever_the_size(
    learner, django_assert_num_queries, tracks, steps
):
    _enroll(learner, tracks, steps)
    # 1 enrollments+tracks, 2 completion (steps with the learner's statuses, counted),
    # 3 steps, 4 prerequisite edges, 5 finished steps, 6 activity per day, 7 recently
    # completed
    with django_assert_num_queries(7):
        dashboard = learner_dashboard(user=learner)
    assert len(dashboard.enrollments) == tracks

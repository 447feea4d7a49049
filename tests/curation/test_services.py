from datetime import timedelta

from django.utils import timezone

from apps.curation.models import (
    LearnerTrackActivity,
    RefreshState,
    ResourceStats,
    StepStats,
    TrackStats,
    WeekStats,
)
from apps.curation.services import curation_refresh, week_start
from apps.progress.models import Status
from apps.progress.services import track_bulk_set
from apps.reminders.models import DeliveryKind, DeliveryStatus, ReminderDelivery
from tests.curation.conftest import study
from tests.factories import StepFactory, TrackFactory, UserFactory


def snapshot() -> dict[str, list[tuple]]:
    """Every figure the dashboard shows, without the refresh times."""
    return {
        "tracks": sorted(
            TrackStats.objects.values_list(
                "track_id", "enrolled", "active_7d", "active_30d", "completed"
            )
        ),
        "steps": sorted(
            StepStats.objects.values_list(
                "step_id",
                "track_id",
                "reached",
                "finished",
                "skipped",
                "stalled",
                "median_gap_seconds",
            )
        ),
        "resources": sorted(
            ResourceStats.objects.values_list(
                "resource_id", "steps", "tracks", "reached", "skipped", "reports", "open_reports"
            )
        ),
        "weeks": sorted(
            WeekStats.objects.values_list(
                "week",
                "new_learners",
                "active_learners",
                "steps_completed",
                "reminders_sent",
                "reminded_progressed",
            )
        ),
        "activity": sorted(
            LearnerTrackActivity.objects.values_list("user_id", "track_id", "last_study_at")
        ),
    }


def test_track_figures_count_enrolled_active_and_completed_learners(world):
    curation_refresh()

    stats = TrackStats.objects.get(track=world["track"])
    assert (stats.enrolled, stats.active_7d, stats.active_30d, stats.completed) == (3, 1, 2, 1)
    assert TrackStats.objects.get(track=world["other"]).enrolled == 0


def test_the_funnel_counts_each_current_step_and_leaves_retired_steps_out(world):
    curation_refresh()

    steps = world["steps"]
    funnel = {
        stats.step_id: (stats.reached, stats.finished, stats.skipped, stats.stalled)
        for stats in StepStats.objects.filter(track=world["track"])
    }
    assert funnel == {
        steps["s1"].pk: (3, 2, 0, 1),
        steps["s2"].pk: (2, 1, 1, 0),
        steps["s3a"].pk: (1, 1, 0, 0),
        steps["s3b"].pk: (0, 0, 0, 0),
        steps["s4"].pk: (1, 1, 0, 0),
    }


def test_the_median_gap_is_the_time_between_finishing_consecutive_steps(world):
    curation_refresh()

    gaps = dict(StepStats.objects.values_list("step_id", "median_gap_seconds"))
    steps = world["steps"]
    assert gaps[steps["s1"].pk] is None
    assert gaps[steps["s2"].pk] == 2 * 3600  # ada: 2 h between step 1 and step 2
    # The alternatives of a choice group both follow step 2; the step after the group
    # follows whichever alternative the learner finished.
    assert gaps[steps["s3a"].pk] == 3600
    assert gaps[steps["s3b"].pk] is None  # nobody finished it
    assert gaps[steps["s4"].pk] == 3600


def test_resource_figures_count_use_skips_and_reports(world):
    curation_refresh()

    shared = ResourceStats.objects.get(resource=world["shared"])
    assert (shared.steps, shared.tracks, shared.reached, shared.skipped) == (2, 2, 2, 1)
    assert (shared.reports, shared.open_reports) == (2, 1)
    assert shared.skip_percent == 50
    lonely = ResourceStats.objects.get(resource=world["lonely"])
    assert (lonely.steps, lonely.tracks, lonely.reached) == (0, 0, 0)  # its step is retired


def test_weeks_count_new_and_active_learners_and_completed_steps(world):
    curation_refresh()

    weeks = {w.week: w for w in WeekStats.objects.all()}
    assert len(weeks) == 12
    this_week = week_start(timezone.now())
    assert weeks[this_week].new_learners == 4  # ada, bob, cy and the reporter joined now
    assert sum(w.steps_completed for w in weeks.values()) == 5  # the retired step's is left out
    now = timezone.now()
    expected: dict = {}
    for who, moments in (
        ("ada", [now - timedelta(days=1, hours=h) for h in (3, 1, 0, -1)]),
        ("bob", [now - timedelta(days=10)]),
        ("cy", [now - timedelta(days=40)]),
    ):
        for moment in moments:
            expected.setdefault(week_start(moment), set()).add(who)
    assert {w: weeks[w].active_learners for w in expected} == {
        w: len(who) for w, who in expected.items()
    }
    assert sum(w.active_learners for w in weeks.values()) == sum(map(len, expected.values()))


def test_a_reminder_counts_as_followed_only_with_progress_within_48_hours(world):
    now = timezone.now()
    followed, ignored, late = UserFactory(), UserFactory(), UserFactory()
    sent_at = now - timedelta(days=3)
    for user in (followed, ignored, late):
        ReminderDelivery.objects.create(
            user=user,
            kind=DeliveryKind.REMINDER,
            window="w",
            due_at=sent_at,
            status=DeliveryStatus.SENT,
            sent_at=sent_at,
        )
    ReminderDelivery.objects.create(
        user=followed,
        kind=DeliveryKind.TEST,
        window="t",
        due_at=sent_at,
        status=DeliveryStatus.SENT,
        sent_at=sent_at,
    )
    study(followed, world["steps"]["s1"], Status.DONE, days_ago=3, hours=5)
    study(late, world["steps"]["s1"], Status.DONE, days_ago=3, hours=50)

    curation_refresh()

    week = WeekStats.objects.get(week=week_start(sent_at))
    assert (week.reminders_sent, week.reminded_progressed) == (3, 1)


def test_bulk_actions_are_not_study(world):
    newcomer = UserFactory()
    track_bulk_set(user=newcomer, track=world["track"], kind="mark_done")

    curation_refresh()

    stats = TrackStats.objects.get(track=world["track"])
    assert stats.enrolled == 4
    assert stats.active_7d == 1  # still only ada
    assert stats.completed == 2
    assert not LearnerTrackActivity.objects.filter(user=newcomer).exists()


def test_a_second_refresh_changes_nothing(world):
    curation_refresh()
    first = snapshot()

    again = curation_refresh()

    assert snapshot() == first
    assert again.events_read == 0
    assert again.tracks == set()
    assert curation_refresh(full=True) and snapshot() == first


def test_an_incremental_refresh_recounts_only_what_changed_and_matches_a_full_one(world):
    curation_refresh()
    untouched = TrackFactory(slug="untouched")
    StepFactory(track=untouched, key="u1")
    curation_refresh()
    before = {s.pk: s.refreshed_at for s in StepStats.objects.all()}
    dan = UserFactory()

    # When dan finishes the first step of the ML track
    study(dan, world["steps"]["s1"], Status.DONE)
    result = curation_refresh()

    # Then only that track and this week are counted again
    assert result.events_read == 1
    assert result.tracks == {world["track"].pk}
    assert result.weeks <= {
        week_start(timezone.now()),
        week_start(timezone.now() - timedelta(days=2)),
    }
    after = {s.pk: s.refreshed_at for s in StepStats.objects.all()}
    changed = {pk for pk in after if after[pk] != before[pk]}
    assert changed == {
        s.pk
        for s in world["steps"].values()
        if s.track_id == world["track"].pk and not s.is_retired
    }
    assert StepStats.objects.get(pk=world["steps"]["s1"].pk).finished == 3
    assert TrackStats.objects.get(track=world["track"]).enrolled == 4
    assert RefreshState.objects.get().events_read == 1
    # And the figures are those a full refresh counts
    incremental = snapshot()
    curation_refresh(full=True)
    assert snapshot() == incremental


def test_a_retired_step_is_counted_again_in_its_track(world):
    curation_refresh()
    s2 = world["steps"]["s2"]
    s2.retired_at = timezone.now()
    s2.save()

    curation_refresh()

    assert not StepStats.objects.filter(step=s2).exists()
    assert ResourceStats.objects.get(resource=world["shared"]).steps == 1


def test_a_reminder_marked_sent_after_a_refresh_is_counted_by_the_next(world):
    learner = UserFactory()
    delivery = ReminderDelivery.objects.create(
        user=learner, kind=DeliveryKind.REMINDER, window="w", due_at=timezone.now()
    )
    curation_refresh()
    this_week = week_start(timezone.now())
    assert WeekStats.objects.get(week=this_week).reminders_sent == 0

    # When the send task marks it sent (its id was read already)
    delivery.status, delivery.sent_at = DeliveryStatus.SENT, timezone.now()
    delivery.save()
    curation_refresh()
    week = WeekStats.objects.get(week=week_start(delivery.sent_at))
    assert (week.reminders_sent, week.reminded_progressed) == (1, 0)

    # And when the learner studies after it
    study(learner, world["steps"]["s1"], Status.DONE)
    curation_refresh()
    week = WeekStats.objects.get(week=week_start(delivery.sent_at))
    assert (week.reminders_sent, week.reminded_progressed) == (1, 1)
    incremental = snapshot()
    curation_refresh(full=True)
    assert snapshot() == incremental

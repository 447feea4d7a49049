from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from apps.progress.models import StepProgress
from apps.reminders.models import DeliveryKind, DeliveryStatus, ReminderDelivery
from apps.reminders.selectors import reminders_due_select
from apps.reminders.services import (
    reminder_usual_hours_refresh,
    reminders_due_schedule,
    reminders_keep_on,
)
from tests.reminders.conftest import MONDAY, study

pytestmark = pytest.mark.django_db


def sweep(start: datetime, hours: int) -> list[tuple[datetime, int, str]]:
    """Every 15-minute window from ``start``: (window, learner, kind) of each reminder due."""
    found = []
    for n in range(hours * 4):
        selection = reminders_due_select(now=start + timedelta(minutes=15 * n))
        found += [(selection.moment, d.user_id, d.kind) for d in selection.to_send]
    return found


def run(moment: datetime, capture) -> list[int]:
    with capture(execute=True):
        result = reminders_due_schedule(now=moment)
    return result.created_ids


def decision_for(user, moment: datetime):
    selection = reminders_due_select(now=moment)
    return next(d for d in selection.decisions if d.user_id == user.pk)


# --- when ----------------------------------------------------------------------------------


def test_each_learner_is_due_once_a_day_at_their_local_hour_across_zones(make_learner):
    utc = make_learner(timezone="UTC", reminder_frequency="daily", reminder_hour=9)
    kolkata = make_learner(timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7)
    kathmandu = make_learner(timezone="Asia/Kathmandu", reminder_frequency="daily", reminder_hour=7)
    los_angeles = make_learner(
        timezone="America/Los_Angeles", reminder_frequency="daily", reminder_hour=20
    )

    found = sweep(MONDAY, hours=48)

    expected = {
        (datetime(2025, 6, 2, 9, 0, tzinfo=UTC), utc.pk),
        (datetime(2025, 6, 3, 9, 0, tzinfo=UTC), utc.pk),
        (datetime(2025, 6, 2, 1, 30, tzinfo=UTC), kolkata.pk),  # 07:00 IST = UTC+5:30
        (datetime(2025, 6, 3, 1, 30, tzinfo=UTC), kolkata.pk),
        (datetime(2025, 6, 2, 1, 15, tzinfo=UTC), kathmandu.pk),  # UTC+5:45
        (datetime(2025, 6, 3, 1, 15, tzinfo=UTC), kathmandu.pk),
        (datetime(2025, 6, 2, 3, 0, tzinfo=UTC), los_angeles.pk),  # 20:00 PDT on Sunday
        (datetime(2025, 6, 3, 3, 0, tzinfo=UTC), los_angeles.pk),
    }
    assert {(moment, user) for moment, user, _ in found} == expected
    assert len(found) == len(expected)


def test_weekly_reminders_come_on_the_local_weekday_not_the_utc_one(make_learner):
    # Monday 06:00 in Auckland is still Sunday in UTC.
    auckland = make_learner(timezone="Pacific/Auckland", reminder_weekday=0, reminder_hour=6)

    found = sweep(MONDAY - timedelta(days=2), hours=24 * 8)

    assert [(m, u) for m, u, _ in found] == [(datetime(2025, 6, 1, 18, 0, tzinfo=UTC), auckland.pk)]


@pytest.mark.parametrize(
    ("zone", "hour", "start", "expected"),
    [
        # New York springs forward at 02:00 on 9 March 2025: 02:00 never happens locally.
        ("America/New_York", 2, datetime(2025, 3, 8, 5, tzinfo=UTC),
         ["03-08 07:00", "03-09 07:00", "03-10 06:00"]),
        # ...and falls back at 02:00 on 2 November: 01:00 happens twice.
        ("America/New_York", 1, datetime(2025, 11, 1, 4, tzinfo=UTC),
         ["11-01 05:00", "11-02 05:00", "11-03 06:00"]),
        # London springs forward at 01:00 GMT on 30 March and falls back on 26 October.
        ("Europe/London", 1, datetime(2025, 3, 29, 0, tzinfo=UTC),
         ["03-29 01:00", "03-30 01:00", "03-31 00:00"]),
        ("Europe/London", 1, datetime(2025, 10, 25, 0, tzinfo=UTC),
         ["10-25 00:00", "10-26 00:00", "10-27 01:00"]),
    ],
)  # fmt: skip
def test_a_dst_change_gives_exactly_one_reminder_a_day(make_learner, zone, hour, start, expected):
    learner = make_learner(timezone=zone, reminder_frequency="daily", reminder_hour=hour)

    found = sweep(start, hours=72)

    assert [f"{m:%m-%d %H:%M}" for m, u, _ in found if u == learner.pk] == expected


def test_when_i_usually_study_is_the_most_frequent_local_hour_else_18(make_learner, track):
    habitual = make_learner(timezone="Europe/Berlin", reminder_frequency="daily")
    newcomer = make_learner(timezone="Europe/Berlin", reminder_frequency="daily")
    # Three mornings at 09:xx Berlin time (07:xx UTC in summer), once at 21:00.
    for day, minute in ((20, 5), (21, 40), (22, 15)):
        at = datetime(2025, 5, day, 7, minute, tzinfo=UTC)
        study(habitual, track, at, status="in_progress" if day % 2 else "todo")
    study(habitual, track, datetime(2025, 5, 23, 19, tzinfo=UTC), position=1, status="in_progress")
    # The last progress is old enough for a daily reminder.
    reminder_usual_hours_refresh(now=MONDAY)

    found = sweep(MONDAY, hours=24)

    assert [(f"{m:%H:%M}", u) for m, u, _ in found] == [
        ("07:00", habitual.pk),  # 09:00 CEST
        ("16:00", newcomer.pk),  # 18:00 CEST, the default
    ]


# --- who --------------------------------------------------------------------------------------

SEVEN_IST = datetime(2025, 6, 2, 1, 30, tzinfo=UTC)  # Monday 07:00 in Asia/Kolkata


def test_the_done_when_scenario(make_learner, track, client, django_capture_on_commit_callbacks):
    learner = make_learner(timezone="Asia/Kolkata", reminder_weekday=0, reminder_hour=7)

    # Runs at 06:45 and 07:15 IST send nothing; the job at 07:00 runs twice, one email.
    assert run(SEVEN_IST - timedelta(minutes=15), django_capture_on_commit_callbacks) == []
    assert len(run(SEVEN_IST, django_capture_on_commit_callbacks)) == 1
    assert run(SEVEN_IST + timedelta(minutes=5), django_capture_on_commit_callbacks) == []
    assert run(SEVEN_IST + timedelta(minutes=15), django_capture_on_commit_callbacks) == []
    assert [m.to for m in mail.outbox] == [[learner.email]]

    # Studied on Sunday: nothing the next Monday.
    next_monday = SEVEN_IST + timedelta(days=7)
    study(learner, track, datetime(2025, 6, 8, 10, tzinfo=UTC))
    assert run(next_monday, django_capture_on_commit_callbacks) == []
    assert decision_for(learner, next_monday).reason.startswith("made progress since")

    # Clicks unsubscribe in the mail client (RFC 8058 one-click POST): nothing any more.
    header = mail.outbox[0].extra_headers["List-Unsubscribe"]
    url = header.split(",")[0].strip("<> ")
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    monday_after = next_monday + timedelta(days=14)
    assert run(monday_after, django_capture_on_commit_callbacks) == []
    assert decision_for(learner, monday_after).reason == "reminders are off"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"verified": False}, "no verified email address"),
        ({"reminder_frequency": "off"}, "reminders are off"),
        ({"enrolled": False}, "no unfinished track"),
    ],
)
def test_skip_rules(make_learner, setup, reason):
    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7, **setup)

    decision = decision_for(learner, SEVEN_IST)

    assert (decision.kind, decision.reason) == (None, reason)


def test_a_learner_whose_tracks_are_all_finished_is_not_reminded(make_learner, track):
    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    for position, status in enumerate(["done", "skipped", "done"]):
        study(learner, track, datetime(2025, 5, 1, tzinfo=UTC), position=position, status=status)
    assert decision_for(learner, SEVEN_IST).reason == "no unfinished track"

    # Curators add a step: the track is unfinished again.
    from tests.factories import StepFactory

    StepFactory(track=track, position=9)
    assert decision_for(learner, SEVEN_IST).kind == DeliveryKind.REMINDER


def test_an_unfinished_second_track_is_enough(make_learner, track):
    from apps.progress.services import track_enroll
    from tests.factories import StepFactory

    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    for position in range(3):
        study(learner, track, datetime(2025, 5, 1, tzinfo=UTC), position=position)
    other = StepFactory().track
    track_enroll(user=learner, track_id=other.pk, at=datetime(2025, 5, 1, tzinfo=UTC))

    assert decision_for(learner, SEVEN_IST).kind == DeliveryKind.REMINDER


@pytest.mark.parametrize(
    ("frequency", "studied_before", "reminded"),
    [
        ("weekly", timedelta(days=6, hours=23), False),
        ("weekly", timedelta(days=7, minutes=1), True),
        ("daily", timedelta(hours=23), False),
        ("daily", timedelta(hours=24, minutes=1), True),
    ],
)
def test_active_learners_are_not_nagged(make_learner, track, frequency, studied_before, reminded):
    learner = make_learner(timezone="Asia/Kolkata", reminder_frequency=frequency, reminder_hour=7)
    study(learner, track, SEVEN_IST - studied_before, status="in_progress")

    decision = decision_for(learner, SEVEN_IST)

    assert (decision.kind == DeliveryKind.REMINDER) is reminded


def test_reminders_pause_after_three_unanswered_and_progress_resumes_them(
    make_learner, track, django_capture_on_commit_callbacks
):
    learner = make_learner(timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7)
    days = [SEVEN_IST + timedelta(days=n) for n in range(8)]

    for day in days[:5]:
        run(day, django_capture_on_commit_callbacks)
    subjects = [m.subject for m in mail.outbox]
    assert len(subjects) == 4
    assert "paused" in subjects[3].lower()
    assert "keep-on" in mail.outbox[3].body
    assert decision_for(learner, days[3]).reason.startswith("already has")
    assert decision_for(learner, days[4]).reason.startswith("paused")
    assert decision_for(learner, days[5]).reason.startswith("paused")

    # Progress on day 6 resumes them (the day after, progress is too recent to remind).
    study(learner, track, days[5] + timedelta(hours=3))
    assert decision_for(learner, days[6]).reason.startswith("made progress")
    assert decision_for(learner, days[7]).kind == DeliveryKind.REMINDER


def test_keep_reminders_on_resumes_them_without_progress(make_learner):
    learner = make_learner(timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7)
    for n in range(4):
        reminders_due_schedule(now=SEVEN_IST + timedelta(days=n))
    assert ReminderDelivery.objects.filter(user=learner, kind="paused").exists()
    assert decision_for(learner, SEVEN_IST + timedelta(days=4)).reason.startswith("paused")

    reminders_keep_on(user=learner, at=SEVEN_IST + timedelta(days=4, hours=2))

    assert decision_for(learner, SEVEN_IST + timedelta(days=5)).kind == DeliveryKind.REMINDER


def test_a_learner_behind_the_weekly_goal_gets_a_nudge_on_the_last_day_of_their_week(
    make_learner, track, django_capture_on_commit_callbacks
):
    # Daily reminders; the week ends on Monday (their weekday); goal 3 steps.
    learner = make_learner(
        timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7, weekly_goal=3
    )
    study(learner, track, SEVEN_IST - timedelta(hours=2))  # one step, just now
    sunday = SEVEN_IST - timedelta(days=1)

    # Not the last day of the week: an active learner is left alone.
    assert decision_for(learner, sunday).reason.startswith("made progress")
    # The last day: "you are 2 steps from your goal" instead of the plain reminder.
    created = run(SEVEN_IST, django_capture_on_commit_callbacks)
    delivery = ReminderDelivery.objects.get(pk__in=created)
    assert (delivery.kind, delivery.steps_to_goal) == (DeliveryKind.GOAL, 2)
    assert mail.outbox[0].subject == "You are 2 steps from your weekly goal"
    assert "1 of 3 steps" in mail.outbox[0].body


def test_the_goal_email_counts_the_steps_its_nudge_counted(
    make_learner, track, django_capture_on_commit_callbacks
):
    # Goal 3 steps: one done before the reminder moment, one a minute after it, before
    # the window's selection runs.
    learner = make_learner(
        timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7, weekly_goal=3
    )
    study(learner, track, SEVEN_IST - timedelta(hours=2))
    study(learner, track, SEVEN_IST + timedelta(minutes=1), position=1)

    created = run(SEVEN_IST + timedelta(minutes=5), django_capture_on_commit_callbacks)

    delivery = ReminderDelivery.objects.get(pk__in=created)
    assert (delivery.kind, delivery.steps_to_goal) == (DeliveryKind.GOAL, 1)
    # The email says what the nudge was decided on: 2 done, 1 to go (not "1 of 3").
    assert mail.outbox[0].subject == "You are 1 step from your weekly goal"
    assert "Weekly goal: 2 of 3 steps" in mail.outbox[0].body


def test_a_learner_who_met_the_weekly_goal_gets_no_nudge(make_learner, track):
    learner = make_learner(
        timezone="Asia/Kolkata", reminder_frequency="daily", reminder_hour=7, weekly_goal=2
    )
    for position in range(2):
        study(learner, track, SEVEN_IST - timedelta(days=3), position=position)

    decision = decision_for(learner, SEVEN_IST)

    assert decision.kind == DeliveryKind.REMINDER
    assert StepProgress.objects.filter(user=learner, status="done").count() == 2


def test_selection_queries_do_not_grow_with_learners(make_learner, django_assert_num_queries):
    def measure() -> int:
        # 1 time zones in use; 2 the due learners with every fact the rules need.
        with django_assert_num_queries(2):
            return len(reminders_due_select(now=SEVEN_IST).to_send)

    make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    assert measure() == 1
    for n in range(20):
        make_learner(timezone=["Asia/Kolkata", "Asia/Calcutta"][n % 2], reminder_hour=7)
        make_learner(timezone="Europe/Paris", reminder_hour=n % 24)
    assert measure() == 21


def test_a_rerun_for_the_same_moment_creates_nothing(make_learner):
    make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    first = reminders_due_schedule(now=SEVEN_IST)
    second = reminders_due_schedule(now=SEVEN_IST)

    assert len(first.created_ids) == 1
    assert second.created_ids == []
    assert ReminderDelivery.objects.get().status == DeliveryStatus.PENDING


def test_an_unknown_time_zone_does_not_stop_the_usual_hour_refresh(make_learner, track):
    from apps.accounts.models import User
    from apps.reminders.models import ReminderPreferences

    lost = make_learner(timezone="Europe/Berlin", reminder_frequency="daily")
    habitual = make_learner(timezone="Europe/Berlin", reminder_frequency="daily")
    for learner in (lost, habitual):
        study(learner, track, datetime(2025, 5, 20, 7, 5, tzinfo=UTC), status="in_progress")
    # A zone the database no longer knows (written past the form's validation).
    User.objects.filter(pk=lost.pk).update(timezone="Mars/Olympus_Mons")

    assert reminder_usual_hours_refresh(now=MONDAY) == 2

    hours = dict(ReminderPreferences.objects.values_list("user_id", "usual_hour"))
    assert hours == {lost.pk: None, habitual.pk: 9}  # 09:05 CEST

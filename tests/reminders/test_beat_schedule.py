"""The beat starts the send-due task on every window of REMINDERS_WINDOW_MINUTES."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from apps.reminders.apps import claim_check, window_check
from apps.reminders.models import BeatScheduleSync
from apps.reminders.selectors import window_crontab, window_start
from apps.reminders.services import SEND_DUE_TASK, beat_schedules_sync

pytestmark = pytest.mark.django_db


def send_due() -> PeriodicTask:
    return PeriodicTask.objects.select_related("crontab").get(task=SEND_DUE_TASK)


def runs_in_a_day(task: PeriodicTask) -> list[datetime]:
    """When the beat starts the task on one day (UTC), from its crontab."""
    schedule = task.crontab.schedule
    midnight = datetime(2026, 3, 2, tzinfo=UTC)
    return sorted(
        midnight + timedelta(hours=hour, minutes=minute)
        for hour in schedule.hour
        for minute in schedule.minute
    )


def test_migrations_and_the_default_setting_agree_on_the_quarter_hours(settings):
    assert settings.REMINDERS_WINDOW_MINUTES == 15

    beat_schedules_sync()

    crontab = send_due().crontab
    assert (crontab.minute, crontab.hour, str(crontab.timezone)) == ("*/15", "*", "UTC")
    assert BeatScheduleSync.objects.get(task=SEND_DUE_TASK).window_minutes == 15


def test_a_30_minute_window_runs_on_minutes_0_and_30(settings):
    settings.REMINDERS_WINDOW_MINUTES = 30

    beat_schedules_sync()

    task = send_due()
    assert task.crontab.schedule.minute == {0, 30}
    assert task.crontab.schedule.hour == set(range(24))
    assert task.interval is None
    # The quarter-hour crontab no task uses any more is gone.
    assert not CrontabSchedule.objects.filter(minute="*/15", periodictask__isnull=True).exists()


@pytest.mark.parametrize("window", [5, 15, 20, 30, 60, 120, 360, 1440])
def test_the_schedule_starts_every_window_the_task_decides(settings, window):
    settings.REMINDERS_WINDOW_MINUTES = window

    beat_schedules_sync()

    runs = runs_in_a_day(send_due())
    steps = {(later - earlier) for earlier, later in itertools.pairwise(runs)}
    steps.add(runs[0] + timedelta(days=1) - runs[-1])  # round midnight
    assert steps == {timedelta(minutes=window)}
    assert all(window_start(run) == run for run in runs)


def test_a_curators_edit_stands_until_the_setting_changes(settings):
    # Given a curator who moved the task to the evening hours and disabled it
    task = send_due()
    evenings, _ = CrontabSchedule.objects.get_or_create(
        minute="*/15", hour="17-22", day_of_week="*", day_of_month="*", month_of_year="*"
    )
    task.crontab, task.enabled = evenings, False
    task.save()

    # when the schedules are synced with the setting unchanged, nothing moves
    beat_schedules_sync()
    assert (send_due().crontab_id, send_due().enabled) == (evenings.pk, False)

    # and when the window changes, the schedule follows it (still disabled)
    settings.REMINDERS_WINDOW_MINUTES = 30
    beat_schedules_sync()
    task = send_due()
    assert (task.crontab.minute, task.crontab.hour, task.enabled) == ("*/30", "*", False)


def test_a_missing_send_due_task_is_scheduled_again(settings):
    PeriodicTask.objects.filter(task=SEND_DUE_TASK).delete()

    beat_schedules_sync()

    task = send_due()
    assert task.enabled
    assert task.crontab.schedule.minute == {0, 15, 30, 45}


def test_migrate_syncs_the_schedule_for_reminders_only(settings):
    settings.REMINDERS_WINDOW_MINUTES = 30
    signal = {"verbosity": 0, "interactive": False, "using": "default", "apps": apps, "plan": []}

    content, reminders = apps.get_app_config("content"), apps.get_app_config("reminders")

    post_migrate.send(sender=content, app_config=content, **signal)
    assert send_due().crontab.minute == "*/15"

    post_migrate.send(sender=reminders, app_config=reminders, **signal)
    assert send_due().crontab.minute == "*/30"


@pytest.mark.parametrize("window", [0, 7, 45, 90, 300])
def test_a_window_the_beat_cannot_start_on_is_refused(settings, window):
    settings.REMINDERS_WINDOW_MINUTES = window

    with pytest.raises(ImproperlyConfigured):
        window_crontab(window)
    assert [error.id for error in window_check()] == ["reminders.E001"]


def test_a_claim_shorter_than_the_send_tasks_time_limit_is_refused(settings):
    settings.REMINDERS_SENDING_STALE_MINUTES = settings.CELERY_TASK_TIME_LIMIT / 60
    assert [error.id for error in claim_check()] == ["reminders.E002"]

    settings.REMINDERS_SENDING_STALE_MINUTES = 30
    assert claim_check() == []

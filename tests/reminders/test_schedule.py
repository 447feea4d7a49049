import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django_celery_beat.models import PeriodicTask

from apps.reminders import services
from apps.reminders.models import DeliveryStatus, ReminderDelivery
from apps.reminders.services import reminder_deliveries_send, reminders_due_schedule
from config.celery_app import app
from tests.reminders.test_selection import SEVEN_IST


@pytest.mark.django_db
def test_the_beat_schedule_runs_a_real_task_every_15_minutes():
    app.loader.import_default_modules()
    task = PeriodicTask.objects.get(task="reminders.send_due")
    assert task.enabled
    # A crontab on the quarter hours (UTC), not an interval that drifts past a window.
    assert task.interval is None
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, str(crontab.timezone)) == ("*/15", "*", "UTC")
    assert (crontab.day_of_week, crontab.day_of_month, crontab.month_of_year) == ("*", "*", "*")
    assert task.task in app.tasks
    refresh = PeriodicTask.objects.get(task="reminders.usual_hours_refresh")
    assert refresh.task in app.tasks


@pytest.mark.django_db
def test_send_reminders_dry_run_prints_who_and_why_and_sends_nothing(make_learner, capsys):
    due = make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    unverified = make_learner(timezone="Asia/Kolkata", reminder_hour=7, verified=False)

    call_command("send_reminders", "--now", "2025-06-02T07:00:00+05:30", "--dry-run")

    out = capsys.readouterr().out
    assert "1 to send, 1 skipped" in out
    assert f"send reminder {due.email} (Asia/Kolkata, 2025-06-02)" in out
    assert f"skip          {unverified.email} (Asia/Kolkata, 2025-06-02): no verified" in out
    assert not ReminderDelivery.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_send_reminders_sends_through_the_beat_path_once(make_learner, capsys):
    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7)

    call_command("send_reminders", "--now", "2025-06-02T01:30:00")
    call_command("send_reminders", "--now", "2025-06-02T01:35:00Z")

    assert [m.to for m in mail.outbox] == [[learner.email]]
    out = capsys.readouterr().out
    assert "Created 1 deliveries." in out
    assert "already has a reminder for 2025-06-02" in out
    assert out.endswith("Created 0 deliveries.\n")


@pytest.mark.django_db
def test_send_reminders_refuses_a_bad_moment():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an ISO-8601"):
        call_command("send_reminders", "--now", "next monday")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_reminder_once(make_learner):
    learners = [make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(25)]
    first_inserted = threading.Event()
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def first_run() -> None:
        try:
            with transaction.atomic():
                results["first"] = reminders_due_schedule(now=SEVEN_IST)
                first_inserted.set()
                # Hold the rows uncommitted while the second run decides and inserts.
                time.sleep(0.5)
        except BaseException as exc:
            errors.append(exc)
            first_inserted.set()
        finally:
            connection.close()

    def second_run() -> None:
        try:
            first_inserted.wait(10)
            results["second"] = reminders_due_schedule(now=SEVEN_IST + timedelta(minutes=3))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_run), threading.Thread(target=second_run)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    first, second = results["first"], results["second"]
    # Both runs decided to send to everyone; only the first created (and sent) anything.
    assert len(first.selection.to_send) == len(second.selection.to_send) == 25
    assert (len(first.created_ids), len(second.created_ids)) == (25, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in learners)
    assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 25


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_chunk_send_it_once(make_learner):
    for _ in range(20):
        make_learner(timezone="Asia/Kolkata", reminder_hour=7)
    with transaction.atomic():
        ids = reminders_due_schedule(now=SEVEN_IST).created_ids
        # Keep the fan-out from sending: the two "workers" below do it.
        transaction.get_connection().run_on_commit = []
    start = threading.Barrier(2)
    sent: list[int] = []

    def worker() -> None:
        try:
            start.wait(10)
            sent.extend(reminder_deliveries_send(delivery_ids=ids).sent)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(sent) == sorted(ids)
    assert len(mail.outbox) == 20


@pytest.mark.django_db
def test_the_beat_task_reads_a_moment_without_zone_as_utc(
    make_learner, settings, django_capture_on_commit_callbacks
):
    from apps.reminders.tasks import reminders_send_due

    # A server whose local time is not UTC.
    settings.TIME_ZONE = "America/New_York"
    learner = make_learner(timezone="Asia/Kolkata", reminder_hour=7)

    with django_capture_on_commit_callbacks(execute=True):
        reminders_send_due("2025-06-02T01:30:00")

    assert [m.to for m in mail.outbox] == [[learner.email]]
    assert ReminderDelivery.objects.get().due_at == SEVEN_IST


@pytest.mark.django_db
def test_the_schedule_migration_moves_the_interval_task_to_the_crontab():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    migration = importlib.import_module("apps.reminders.migrations.0004_beat_schedule_crontab")
    # Back to the schedule 0002 created: an interval of 15 minutes.
    migration.schedule_to_interval(apps, None)
    task = PeriodicTask.objects.get(task="reminders.send_due")
    assert (task.interval.every, task.interval.period, task.crontab) == (15, "minutes", None)

    migration.schedule_to_crontab(apps, None)

    task = PeriodicTask.objects.get(task="reminders.send_due")
    assert (task.interval, task.crontab.minute, task.crontab.hour) == (None, "*/15", "*")
    assert task.enabled
    # The interval is gone unless another app's task still uses it (the curator dashboard's
    # refresh runs every 15 minutes too); the schedule exists once.
    assert not IntervalSchedule.objects.filter(
        every=15, period="minutes", periodictask__isnull=True
    ).exists()
    assert CrontabSchedule.objects.filter(minute="*/15").count() == 1
    assert PeriodicTask.objects.filter(task="reminders.send_due").count() == 1


# A learner in Asia/Kathmandu (UTC+5:45) due at 16:00 local: the 10:15 UTC window.
KATHMANDU_16 = datetime(2025, 6, 2, 10, 15, tzinfo=UTC)


@pytest.mark.django_db
def test_a_late_beat_run_still_sends_the_window_it_missed(
    make_learner, django_capture_on_commit_callbacks
):
    from apps.reminders.tasks import reminders_send_due

    learner = make_learner(timezone="Asia/Kathmandu", reminder_hour=16)

    # The run for 10:15 came a hair early (10:14:59.9) and the next one at 10:30:00.
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_send_due((KATHMANDU_16 - timedelta(milliseconds=100)).isoformat()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_send_due((KATHMANDU_16 + timedelta(minutes=15)).isoformat()) == 1

    assert [m.to for m in mail.outbox] == [[learner.email]]
    assert ReminderDelivery.objects.get().due_at == KATHMANDU_16


@pytest.mark.django_db
def test_running_both_windows_twice_sends_once(make_learner, django_capture_on_commit_callbacks):
    from apps.reminders.tasks import reminders_send_due

    learner = make_learner(timezone="Asia/Kathmandu", reminder_hour=16)
    moments = [KATHMANDU_16, KATHMANDU_16 + timedelta(minutes=15)] * 2

    created = []
    for moment in moments:
        with django_capture_on_commit_callbacks(execute=True):
            created.append(reminders_send_due(moment.isoformat()))

    assert created == [1, 0, 0, 0]
    assert [m.to for m in mail.outbox] == [[learner.email]]
    assert ReminderDelivery.objects.get().status == DeliveryStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_the_first_emails_go_out_while_the_rest_are_still_being_recorded(
    make_learner, settings, monkeypatch
):
    settings.REMINDERS_SEND_CHUNK_SIZE = 2
    learners = [make_learner(timezone="Asia/Kolkata", reminder_hour=7) for _ in range(5)]
    recorded_when_sent: list[int] = []
    send = services.reminder_deliveries_send

    def sending(*, delivery_ids):
        recorded_when_sent.append(ReminderDelivery.objects.count())
        return send(delivery_ids=delivery_ids)

    monkeypatch.setattr(services, "reminder_deliveries_send", sending)

    result = reminders_due_schedule(now=SEVEN_IST)

    # Each chunk went to its send task when it committed, before the next was recorded.
    assert recorded_when_sent == [2, 4, 5]
    assert len(result.created_ids) == 5
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in learners)
    assert ReminderDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 5

"""Celery beat: send due reminders on the quarter hours (a crontab), not every 15 minutes
from the last run (an interval drifts, and a run late by a moment skips a whole window)."""

from django.db import migrations
from django.utils import timezone

SEND_DUE = "Reminders: send the reminders due now"
SEND_DUE_TASK = "reminders.send_due"


def _beat_notify(apps):
    # A running beat reloads its schedule when this changes.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def schedule_to_crontab(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    quarter_hours, _ = CrontabSchedule.objects.get_or_create(
        minute="*/15",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    tasks = PeriodicTask.objects.filter(task=SEND_DUE_TASK)
    intervals = set(tasks.exclude(interval=None).values_list("interval_id", flat=True))
    if tasks.exists():
        # Keeps the task's name and enabled flag as they are.
        tasks.update(interval=None, crontab=quarter_hours)
    else:
        PeriodicTask.objects.create(
            name=SEND_DUE, task=SEND_DUE_TASK, crontab=quarter_hours, enabled=True
        )
    IntervalSchedule.objects.filter(pk__in=intervals, periodictask__isnull=True).delete()
    _beat_notify(apps)


def schedule_to_interval(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    tasks = PeriodicTask.objects.filter(task=SEND_DUE_TASK)
    crontabs = set(tasks.exclude(crontab=None).values_list("crontab_id", flat=True))
    tasks.update(crontab=None, interval=every_15)
    CrontabSchedule.objects.filter(pk__in=crontabs, periodictask__isnull=True).delete()
    _beat_notify(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0003_delivery_status_skipped"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_to_crontab, schedule_to_interval)]

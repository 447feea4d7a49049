"""Celery beat: send due reminders every 15 minutes; refresh usual study hours daily."""

from django.db import migrations

SEND_DUE = "Reminders: send the reminders due now"
USUAL_HOURS = "Reminders: refresh usual study hours"


def schedule_create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=SEND_DUE,
        defaults={"task": "reminders.send_due", "interval": every_15, "enabled": True},
    )
    # Between two reminder windows, at a quiet minute.
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="7",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.update_or_create(
        name=USUAL_HOURS,
        defaults={"task": "reminders.usual_hours_refresh", "crontab": daily, "enabled": True},
    )


def schedule_delete(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[SEND_DUE, USUAL_HOURS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_create, schedule_delete)]

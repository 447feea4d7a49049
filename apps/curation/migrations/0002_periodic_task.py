"""Schedule the dashboard's refresh every 15 minutes (editable later in admin)."""

from django.db import migrations

REFRESH_TASK = "Curator dashboard: refresh the figures"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REFRESH_TASK,
        defaults={
            "task": "apps.curation.tasks.curation_refresh_task",
            "interval": every,
            "description": "Counts what changed since the last run (incremental, idempotent).",
        },
    )


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=REFRESH_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]

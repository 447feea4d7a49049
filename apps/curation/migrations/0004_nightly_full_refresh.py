"""Count the dashboard's figures in full every night (editable later in admin).

The 15-minute refresh reads what changed after its marks; a change it cannot see (an event
committed after a refresh by a transaction that took its id before, content edited in bulk
without touching a step's updated_at) is counted by the nightly full refresh at the latest.
"""

import json

from django.db import migrations

FULL_TASK = "Curator dashboard: full recount"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=FULL_TASK,
        defaults={
            "task": "apps.curation.tasks.curation_refresh_task",
            "crontab": nightly,
            "kwargs": json.dumps({"full": True}),
            "description": "Counts everything again, whatever the incremental runs missed.",
        },
    )


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=FULL_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("curation", "0003_drop_admin_entry"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]

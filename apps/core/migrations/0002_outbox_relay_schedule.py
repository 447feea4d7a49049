"""Celery beat: the outbox relay every 30 seconds (editable later in admin)."""

from django.db import migrations
from django.utils import timezone

RELAY = "Outbox: publish pending tasks"
RELAY_TASK = "apps.core.tasks.outbox_relay"


def _beat_notify(apps):
    # A running beat reloads its schedule when this changes.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=RELAY,
        defaults={
            "task": RELAY_TASK,
            "interval": every_30s,
            # A run still queued when the next is due is dropped, not piled up.
            "expire_seconds": 30,
            "description": "Publish the tasks left in the outbox, e.g. while the broker was down.",
        },
    )
    _beat_notify(apps)


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=RELAY).delete()
    _beat_notify(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]

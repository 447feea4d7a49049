"""Schedule the hourly due-links task and the daily digest (editable later in admin)."""

from django.db import migrations

DUE_TASK = "Link health: check due links"
DIGEST_TASK = "Link health: daily digest"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=DUE_TASK,
        defaults={
            "task": "apps.linkhealth.tasks.links_check_due",
            "interval": hourly,
            "description": "Links never checked, ok links weekly, failing links daily.",
        },
    )
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=DIGEST_TASK,
        defaults={
            "task": "apps.linkhealth.tasks.link_digest_send",
            "crontab": daily,
            "description": "Email opted-in staff the newly broken and moved links.",
        },
    )


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[DUE_TASK, DIGEST_TASK]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("linkhealth", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]

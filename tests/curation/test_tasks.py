import json

from django.conf import settings
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.curation.models import TrackStats
from apps.curation.tasks import curation_refresh_task


def test_the_beat_refreshes_every_15_minutes_and_in_full_nightly_within_time_limits(db):
    tasks = PeriodicTask.objects.filter(task="apps.curation.tasks.curation_refresh_task")
    incremental = tasks.get(interval__isnull=False)
    assert incremental.enabled and json.loads(incremental.kwargs) == {}
    assert (incremental.interval.every, incremental.interval.period) == (15, "minutes")
    nightly = tasks.get(crontab__isnull=False)
    assert nightly.enabled and json.loads(nightly.kwargs) == {"full": True}
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("3", "30")
    assert curation_refresh_task.acks_late
    assert curation_refresh_task.soft_time_limit == settings.CURATION_REFRESH_SOFT_TIME_LIMIT
    assert curation_refresh_task.time_limit == settings.CURATION_REFRESH_TIME_LIMIT
    assert curation_refresh_task.soft_time_limit < curation_refresh_task.time_limit


def test_the_task_and_the_command_refresh_the_figures(world, capsys):
    assert curation_refresh_task.delay().get() == 8  # every event, the first time

    call_command("refresh_curation")
    assert "Incremental refresh: 0 events read, 0 tracks" in capsys.readouterr().out
    call_command("refresh_curation", "--full")
    assert "Full refresh: 8 events read, 2 tracks" in capsys.readouterr().out
    assert TrackStats.objects.get(track=world["track"]).completed == 1

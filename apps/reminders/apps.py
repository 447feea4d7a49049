from typing import Any

from django.apps import AppConfig
from django.apps.registry import Apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate


def beat_schedules_sync_after_migrate(
    sender: AppConfig, apps: Apps | None = None, **kwargs: Any
) -> None:
    """After reminders' migrations: the beat's send-due schedule follows the window setting."""
    try:  # migrated back past the tables the sync writes: nothing to keep in step
        if apps is not None:
            apps.get_model("reminders", "BeatScheduleSync")
            apps.get_model("django_celery_beat", "PeriodicTask")
    except LookupError:
        return
    from apps.reminders.services import beat_schedules_sync

    beat_schedules_sync()


def window_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """A window the beat cannot start on time would skip or repeat learners."""
    from django.conf import settings

    from apps.reminders.selectors import window_crontab

    try:
        window_crontab(settings.REMINDERS_WINDOW_MINUTES)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="reminders.E001")]
    return []


def claim_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """A send task must be over (its hard time limit kills it at the latest) before its
    claim lapses and another task may send the same emails."""
    from django.conf import settings

    from apps.reminders.tasks import reminders_send_chunk

    claim = settings.REMINDERS_SENDING_STALE_MINUTES * 60
    hard_limit = reminders_send_chunk.time_limit or settings.CELERY_TASK_TIME_LIMIT
    if claim <= hard_limit:
        return [
            checks.Error(
                f"REMINDERS_SENDING_STALE_MINUTES={settings.REMINDERS_SENDING_STALE_MINUTES} "
                f"must be at least twice the send task's hard time limit ({hard_limit} s), or "
                "an email still on its way could be sent again by another task.",
                id="reminders.E002",
            )
        ]
    return []


class RemindersConfig(AppConfig):
    name = "apps.reminders"
    label = "reminders"
    verbose_name = "Reminders"

    def ready(self) -> None:
        # Only for this app's own migrate (sender), so once per `migrate`.
        post_migrate.connect(
            beat_schedules_sync_after_migrate,
            sender=self,
            dispatch_uid="reminders_beat_schedules_sync",
        )
        checks.register(window_check, checks.Tags.compatibility)
        checks.register(claim_check, checks.Tags.compatibility)

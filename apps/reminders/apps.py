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

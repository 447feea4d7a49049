from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_celery_beat import admin as beat_admin
from django_celery_beat import models as beat_models

from apps.core.models import OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff may look; only the services change these rows."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Tasks waiting for the broker (pending) and those published lately."""

    list_display = ("id", "task", "created_at", "available_at", "attempts", "sent_at", "last_error")
    list_filter = (("sent_at", admin.EmptyFieldListFilter), "task")
    date_hierarchy = "created_at"


class SuperuserOnlyAdmin:
    """A model admin only superusers see: the rest of the staff never need it."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser


# Celery beat's schedules run themselves (each app syncs its own entries): curators
# never need them, so only superusers see them.
for _model, _admin in (
    (beat_models.PeriodicTask, beat_admin.PeriodicTaskAdmin),
    (beat_models.CrontabSchedule, beat_admin.CrontabScheduleAdmin),
    (beat_models.IntervalSchedule, beat_admin.IntervalScheduleAdmin),
    (beat_models.SolarSchedule, beat_admin.SolarScheduleAdmin),
    (beat_models.ClockedSchedule, beat_admin.ClockedScheduleAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, type(_admin.__name__, (SuperuserOnlyAdmin, _admin), {}))

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

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

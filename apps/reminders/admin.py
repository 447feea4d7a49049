from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.reminders.models import ReminderDelivery, ReminderPreferences
from apps.reminders.services import reminder_test_send


@admin.register(ReminderPreferences)
class ReminderPreferencesAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "reminder_frequency",
        "reminder_weekday",
        "reminder_hour",
        "usual_hour",
        "weekly_goal",
        "unsubscribed_at",
    )
    list_filter = ("reminder_frequency", "reminder_weekday")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    raw_id_fields = ("user",)
    readonly_fields = ("usual_hour", "usual_hour_computed_at", "kept_on_at", "unsubscribed_at")


@admin.register(ReminderDelivery)
class ReminderDeliveryAdmin(admin.ModelAdmin):
    """Who was sent what and when, with the error of failed sends. Read-only."""

    list_display = ("user", "kind", "window", "due_at", "status", "attempts", "sent_at", "error")
    list_filter = ("kind", "status")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    date_hierarchy = "due_at"
    change_list_template = "reminders/admin/delivery_changelist.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        send_test = self.admin_site.admin_view(require_POST(self.send_test_view))
        return [
            path("send-test/", send_test, name="reminders_reminderdelivery_send_test"),
            *super().get_urls(),
        ]

    def send_test_view(self, request: HttpRequest) -> HttpResponse:
        """Staff: send a test reminder to yourself."""
        user: User = request.user  # type: ignore[assignment]
        reminder_test_send(user=user)
        self.message_user(
            request, f"A test reminder is on its way to {user.email}.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:reminders_reminderdelivery_changelist"))

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdmin
from apps.learning.models import PublicProfile
from apps.learning.public import public_profile_hide


@admin.register(PublicProfile)
class PublicProfileAdmin(ReadOnlyAdmin):
    """Learners' public pages. Admins can only look and turn one off (say, for an
    offensive handle); the learner can turn it on again or change their handle."""

    list_display = ("handle", "is_public", "user", "updated_at")
    list_filter = ("is_public",)
    list_select_related = ("user",)
    search_fields = ("handle", "user__email")
    fields = ("handle", "is_public", "user", "updated_at")
    readonly_fields = fields
    actions = ["turn_off"]

    @admin.action(description="Turn off the selected public pages")
    def turn_off(self, request: HttpRequest, queryset: QuerySet[PublicProfile]) -> None:
        users = list(queryset.filter(is_public=True).select_related("user"))
        for profile in users:
            public_profile_hide(user=profile.user)
        self.message_user(request, f"{len(users)} public page(s) turned off.", messages.SUCCESS)

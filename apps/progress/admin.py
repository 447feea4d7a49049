from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.progress.models import Enrollment, ProgressEvent, StepProgress

# Staff can look at progress; only learners (through the services) change it.


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ("user", "track", "started_at", "last_activity_at")
    list_filter = ("track",)
    list_select_related = ("user", "track")
    search_fields = ("user__email", "track__title")
    date_hierarchy = "last_activity_at"


@admin.register(StepProgress)
class StepProgressAdmin(ReadOnlyAdmin):
    list_display = ("user", "step", "track", "status", "status_changed_at", "completed_at")
    list_filter = ("status", "step__track")
    list_select_related = ("user", "step__track")
    search_fields = ("user__email", "step__title")

    @admin.display(description="track", ordering="step__track__title")
    def track(self, progress: StepProgress) -> str:
        return progress.step.track.title


@admin.register(ProgressEvent)
class ProgressEventAdmin(ReadOnlyAdmin):
    list_display = (
        "user",
        "step",
        "from_status",
        "to_status",
        "occurred_at",
        "recorded_at",
        "source",
    )
    list_filter = ("source", "to_status")
    list_select_related = ("user", "step")
    search_fields = ("user__email", "step__title", "idempotency_key")
    date_hierarchy = "occurred_at"

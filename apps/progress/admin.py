from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdmin
from apps.progress.models import BulkAction, Enrollment, ProgressEvent, StepNote, StepProgress

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


@admin.register(StepNote)
class StepNoteAdmin(ReadOnlyAdmin):
    """Staff see that a learner keeps a note on a step, never what it says."""

    list_display = ("user", "step", "has_text", "link_count", "updated_at")
    list_select_related = ("user", "step")
    search_fields = ("user__email", "step__title")
    fields = ("user", "step", "has_text", "link_count", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(boolean=True, description="text")
    def has_text(self, note: StepNote) -> bool:
        return bool(note.text_length)  # type: ignore[attr-defined]

    @admin.display(description="links")
    def link_count(self, note: StepNote) -> int:
        return len(note.links)

    def get_queryset(self, request: HttpRequest) -> QuerySet[StepNote]:
        # The text is never even read for the admin: only whether there is one.
        return super().get_queryset(request).defer("body").annotate(text_length=Length("body"))


@admin.register(BulkAction)
class BulkActionAdmin(ReadOnlyAdmin):
    list_display = ("user", "track", "kind", "steps_changed", "source", "created_at")
    list_filter = ("kind", "source")
    list_select_related = ("user", "track")
    search_fields = ("user__email", "track__title")
    exclude = ("before",)

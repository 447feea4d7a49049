from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from apps.content.models import Resource, Step, StepResource, Track
from apps.content.selectors import track_list
from apps.content.services import (
    content_revision_bump,
    step_prerequisites_validate,
    tracks_publish_set,
)
from apps.core.errors import ApplicationError
from apps.core.templatetags.stepwise import duration


class ContentAdmin(admin.ModelAdmin):
    """Every save and delete through content's admin moves the content revision.

    Each hook bumps after its write and inside the admin's transaction (Django wraps the
    change form, the delete page and the changelist's inline edits in one; the "delete
    selected" action gets one here), so the new number is never seen without the new
    content. A change form moves the revision twice (the object, then its relations and
    inlines): harmless for a counter, and each hook stays right on its own.
    """

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        content_revision_bump()

    def save_related(
        self,
        request: HttpRequest,
        form: ModelForm,
        formsets: list[BaseInlineFormSet],
        change: bool,
    ) -> None:
        # Many-to-many fields (prerequisites) and inlines (steps, a step's resources).
        super().save_related(request, form, formsets, change)
        content_revision_bump()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        content_revision_bump()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic(using=queryset.db):
            super().delete_queryset(request, queryset)
            content_revision_bump()


class StepInline(admin.TabularInline):
    model = Step
    fields = ("position", "key", "title", "estimated_minutes", "is_optional")
    ordering = ("position", "id")
    extra = 0
    show_change_link = True


@admin.register(Track)
class TrackAdmin(ContentAdmin):
    list_display = (
        "title",
        "slug",
        "level",
        "goal",
        "is_published",
        "position",
        "steps",
        "estimated_time",
        "learners",
    )
    list_editable = ("position",)
    list_filter = ("is_published", "level", "goal")
    search_fields = ("title", "slug", "goal")
    prepopulated_fields = {"slug": ("title",)}
    inlines = [StepInline]
    actions = ["publish", "unpublish"]
    ordering = ("position", "title")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Track]:
        return track_list(published_only=False)

    @admin.display(ordering="step_count")
    def steps(self, track: Any) -> int:
        return int(track.step_count)

    @admin.display(description="estimated time", ordering="total_minutes")
    def estimated_time(self, track: Any) -> str:
        return duration(track.total_minutes)

    @admin.display(ordering="learner_count")
    def learners(self, track: Any) -> int:
        return int(track.learner_count)

    @admin.action(description="Publish the selected tracks")
    def publish(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        changed = tracks_publish_set(
            track_ids=queryset.values_list("pk", flat=True), published=True
        )
        self.message_user(request, f"{changed} track(s) published.", messages.SUCCESS)

    @admin.action(description="Unpublish the selected tracks")
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Track]) -> None:
        changed = tracks_publish_set(
            track_ids=queryset.values_list("pk", flat=True), published=False
        )
        self.message_user(request, f"{changed} track(s) unpublished.", messages.SUCCESS)


class StepResourceInline(admin.TabularInline):
    model = StepResource
    fields = ("position", "resource", "note")
    autocomplete_fields = ("resource",)
    ordering = ("position", "id")
    extra = 0


class StepAdminForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = (
            "track",
            "key",
            "position",
            "title",
            "description",
            "estimated_minutes",
            "is_optional",
            "prerequisites",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        track, prerequisites = cleaned.get("track"), cleaned.get("prerequisites")
        if track is not None and prerequisites is not None:
            probe = Step(pk=self.instance.pk, track=track, title=cleaned.get("title", ""))
            try:
                step_prerequisites_validate(step=probe, prerequisites=prerequisites)
            except ApplicationError as exc:
                self.add_error("prerequisites", exc.message)
        return cleaned


@admin.register(Step)
class StepAdmin(ContentAdmin):
    form = StepAdminForm
    list_display = (
        "title",
        "track",
        "position",
        "key",
        "estimated_minutes",
        "is_optional",
        "resource_count",
    )
    list_filter = ("track", "is_optional")
    list_select_related = ("track",)
    search_fields = ("title", "key", "track__title")
    autocomplete_fields = ("track", "prerequisites")
    inlines = [StepResourceInline]
    ordering = ("track__position", "position")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Step]:
        return super().get_queryset(request).annotate(resource_count=Count("step_resources"))

    @admin.display(description="resources", ordering="resource_count")
    def resource_count(self, step: Any) -> int:
        return int(step.resource_count)


class WhereUsedInline(admin.TabularInline):
    model = StepResource
    verbose_name = "use"
    verbose_name_plural = "where used"
    fields = ("track", "step", "position", "note")
    readonly_fields = ("track", "step", "position", "note")
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StepResource]:
        return super().get_queryset(request).select_related("step__track")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="track")
    def track(self, link: StepResource) -> str:
        return link.step.track.title


@admin.register(Resource)
class ResourceAdmin(ContentAdmin):
    list_display = ("title", "kind", "provider", "cost", "duration", "used_in", "link")
    list_filter = ("kind", "cost", "provider", "language")
    search_fields = ("title", "url", "provider")
    ordering = ("title",)
    inlines = [WhereUsedInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Resource]:
        return super().get_queryset(request).annotate(use_count=Count("step_links"))

    @admin.display(description="used in", ordering="use_count")
    def used_in(self, resource: Any) -> str:
        return f"{resource.use_count} step(s)"

    @admin.display(description="URL")
    def link(self, resource: Resource) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            resource.url,
            resource.url,
        )


def resource_admin_extend(extension: type[admin.ModelAdmin]) -> None:
    """The hook for apps above content to add to the resource admin (columns, filters,
    inlines, actions) without content knowing them: ``extension`` goes in front of the
    admin registered now, so its methods can build on ``super()``."""
    current = type(admin.site.get_model_admin(Resource))
    admin.site.unregister(Resource)
    admin.site.register(Resource, type(f"{extension.__name__}", (extension, current), {}))

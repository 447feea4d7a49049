from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from apps.content.admin_import import article_import_view
from apps.content.forms import DurationField
from apps.content.models import ChoiceGroup, Resource, Step, StepResource, Track, TrackChange
from apps.content.selectors import track_list
from apps.content.services import (
    StepRemoval,
    content_revision_bump,
    step_links_changed_record,
    step_prerequisites_validate,
    step_saved_record,
    steps_remove,
    steps_restore,
    steps_with_learner_data,
    tracks_publish_set,
)
from apps.core.admin import ReadOnlyAdmin
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


class StepInlineForm(forms.ModelForm):
    estimated_minutes = DurationField(label="Time", help_text="e.g. 45 min, 12 h, 2 weeks")

    class Meta:
        model = Step
        fields = ("position", "key", "title", "estimated_minutes", "is_optional", "group")
        widgets = {
            "title": forms.TextInput(attrs={"size": 48}),
            "key": forms.TextInput(attrs={"size": 18}),
            "position": forms.NumberInput(attrs={"class": "sortable-position"}),
        }


class StepInline(admin.TabularInline):
    """The track's steps, in order: drag a row, or focus its handle and use the arrow
    keys, to move it (``stepwise/admin/step_order.js`` renumbers the positions)."""

    model = Step
    form = StepInlineForm
    fields = ("position", "key", "title", "estimated_minutes", "is_optional", "group", "retired_at")
    readonly_fields = ("retired_at",)
    classes = ("sortable-steps",)
    ordering = ("position", "id")
    extra = 0
    show_change_link = True
    # Removing a step goes through the step's own delete page (steps_remove), which
    # retires a step learners have progress on instead of deleting it with their progress.
    can_delete = False

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        if db_field.name == "group":
            # Only the groups of the track being edited (none yet on a new track).
            match = request.resolver_match
            track_id = match.kwargs.get("object_id") if match else None
            kwargs["queryset"] = (
                ChoiceGroup.objects.filter(track_id=int(track_id))
                if track_id and str(track_id).isdigit()
                else ChoiceGroup.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ChoiceGroupInline(admin.TabularInline):
    model = ChoiceGroup
    fields = ("key", "title", "required", "description")
    ordering = ("key",)
    extra = 0


@admin.register(Track)
class TrackAdmin(ContentAdmin):
    class Media:
        js = ("stepwise/admin/step_order.js",)

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
    inlines = [ChoiceGroupInline, StepInline]
    actions = ["publish", "unpublish"]
    ordering = ("position", "title")
    readonly_fields = ("history",)

    @admin.display(description="history")
    def history(self, track: Track) -> str:
        """Who changed what in the track's steps, and when (what its learners are told)."""
        if track.pk is None:
            return "—"
        url = reverse("admin:content_trackchange_changelist")
        return format_html(
            '<a href="{}?track__id__exact={}">Who changed what, and when</a>', url, track.pk
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Track]:
        return track_list(published_only=False)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """A track whose steps hold learners' progress, events or notes cannot be deleted
        (they would go with it): the confirmation page says so, with how many steps, in
        place of a list of every learner's rows, and offers no "Yes"."""
        tracks = list(objs)
        steps = list(Step.objects.filter(track__in=tracks).values_list("pk", "track_id"))
        held = steps_with_learner_data(step_ids=[pk for pk, _ in steps])
        if not held:
            return super().get_deleted_objects(tracks, request)
        # Refused: Django's own collection (every learner's row, each refused) is not
        # worth making. The page shows missing permissions before protected objects:
        # none are missing, since nothing of the learners' is ever deleted from here.
        per_track = Counter(track_id for pk, track_id in steps if pk in held)
        return (
            [],
            {},
            set(),
            [
                format_html(
                    "Track: {} — learners have progress on {} of its steps; unpublish it "
                    "instead, and their progress is kept",
                    track,
                    per_track[track.pk],
                )
                for track in tracks
                if per_track[track.pk]
            ],
        )

    def get_urls(self) -> list[URLPattern]:
        # "Import an article" (linked from the changelist): ahead of "<object_id>/".
        view = self.admin_site.admin_view(lambda request: article_import_view(self, request))
        return [path("import/", view, name="content_track_import"), *super().get_urls()]

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        super().save_formset(request, form, formset, change)
        if change and formset.model is Step:
            # Steps added or edited in the track's page: their learners are told.
            for step in formset.new_objects:
                step_saved_record(step=step, created=True, by=request.user)
            for step, fields in formset.changed_objects:
                step_saved_record(step=step, created=False, changed_fields=fields, by=request.user)

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
            "group",
            "prerequisites",
            "prerequisite_groups",
        )

    estimated_minutes = DurationField(
        label="Estimated time", help_text="e.g. 45 min, 12 h, 1 h 30 min, 2 weeks"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        track = cleaned.get("track")
        group = cleaned.get("group")
        if track is not None and group is not None and group.track_id != track.pk:
            self.add_error("group", f"“{group.title}” is a choice group of another track.")
        for other in cleaned.get("prerequisite_groups") or []:
            if track is not None and other.track_id != track.pk:
                self.add_error(
                    "prerequisite_groups", f"“{other.title}” is a choice group of another track."
                )
            elif group is not None and other.pk == group.pk:
                self.add_error("prerequisite_groups", "A step cannot require its own group.")
        prerequisites = cleaned.get("prerequisites")
        if track is not None and prerequisites is not None:
            probe = Step(pk=self.instance.pk, track=track, title=cleaned.get("title", ""))
            try:
                step_prerequisites_validate(
                    step=probe,
                    prerequisites=prerequisites,
                    prerequisite_groups=cleaned.get("prerequisite_groups") or [],
                    group=group if group is not None and group.track_id == track.pk else None,
                )
            except ApplicationError as exc:
                self.add_error("prerequisites", exc.message)
        return cleaned


class RetiredFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "retired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "In its track"), ("yes", "Retired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Step]) -> QuerySet[Step]:
        if self.value() in ("yes", "no"):
            return queryset.filter(retired_at__isnull=self.value() == "no")
        return queryset


@admin.register(Step)
class StepAdmin(ContentAdmin):
    """Deleting a step here goes through ``steps_remove``: a step any learner has
    progress on is retired (and can be restored), only a step nobody has progress on is
    really deleted, and the confirmation page says which is which."""

    form = StepAdminForm
    list_display = (
        "title",
        "track",
        "position",
        "key",
        "estimated_time",
        "is_optional",
        "group",
        "resource_count",
        "retired_at",
    )
    list_filter = (RetiredFilter, "track", "is_optional")
    list_select_related = ("track", "group")
    search_fields = ("title", "key", "track__title")
    autocomplete_fields = ("track", "prerequisites")
    readonly_fields = ("retired_at",)
    inlines = [StepResourceInline]
    ordering = ("track__position", "position")
    actions = ["restore"]
    delete_confirmation_template = "admin/content/step/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/content/step/delete_selected_confirmation.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Step]:
        return super().get_queryset(request).annotate(resource_count=Count("step_resources"))

    @admin.display(description="time", ordering="estimated_minutes")
    def estimated_time(self, step: Step) -> str:
        return duration(step.estimated_minutes)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        step_saved_record(
            step=obj, created=not change, changed_fields=form.changed_data, by=request.user
        )

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: Any, change: bool
    ) -> None:
        super().save_formset(request, form, formset, change)
        if not change or formset.model is not StepResource:
            return  # a new step is news enough, its resources with it
        added = [link.resource for link in formset.new_objects]
        removed = [link.resource for link in formset.deleted_objects]
        for link_form in formset.forms:
            before = link_form.initial.get("resource")
            if link_form.instance.pk and "resource" in link_form.changed_data and before:
                removed.append(Resource.objects.get(pk=before))
                added.append(link_form.instance.resource)
        if added or removed:
            step_links_changed_record(
                step=form.instance, added=added, removed=removed, by=request.user
            )

    @admin.display(description="resources", ordering="resource_count")
    def resource_count(self, step: Any) -> int:
        return int(step.resource_count)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """What the confirmation page lists. Steps learners have progress on are retired,
        not deleted: they are listed as such, and nothing of theirs is deleted (their
        progress is not, so staff need no right to delete progress)."""
        steps = list(objs)
        held = steps_with_learner_data(step_ids=[s.pk for s in steps])
        request.steps_retiring = [s for s in steps if s.pk in held]  # type: ignore[attr-defined]
        to_delete = [s for s in steps if s.pk not in held]
        deleted, counts, perms, protected = (
            super().get_deleted_objects(to_delete, request) if to_delete else ([], {}, set(), [])
        )
        retiring = [
            format_html("Step: {} — retired, progress kept", s)
            for s in request.steps_retiring  # type: ignore[attr-defined]
        ]
        return [*retiring, *deleted], counts, perms, protected

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        request.step_removal = steps_remove(  # type: ignore[attr-defined]
            step_ids=[obj.pk], by=request.user
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        removal = steps_remove(
            step_ids=list(queryset.values_list("pk", flat=True)), by=request.user
        )
        self._tell_removal(request, removal)

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> Any:
        removal: StepRemoval | None = getattr(request, "step_removal", None)
        if removal is not None and removal.retired:
            self.message_user(
                request,
                f"The step “{obj_display}” was retired, not deleted: learners have progress "
                "on it, and it is kept. Use the “Restore” action to bring it back.",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:content_step_changelist"))
        return super().response_delete(request, obj_display, obj_id)

    def _tell_removal(self, request: HttpRequest, removal: StepRemoval) -> None:
        if not removal.retired:
            return  # Django's own "Successfully deleted" message is then the truth.
        self.message_user(
            request,
            f"{len(removal.retired)} step(s) retired, not deleted: learners have progress "
            "on them, and it is kept. Use the “Restore” action to bring them back.",
            messages.WARNING,
        )
        if removal.deleted:
            self.message_user(
                request,
                f"{len(removal.deleted)} step(s) nobody had progress on deleted.",
                messages.SUCCESS,
            )

    def message_user(
        self,
        request: HttpRequest,
        message: Any,
        level: int | str = messages.INFO,
        extra_tags: str = "",
        fail_silently: bool = False,
    ) -> None:
        # Django's "delete selected" action reports every selected step as deleted after
        # delete_queryset; the messages of _tell_removal say what really happened.
        if str(message).startswith("Successfully deleted") and getattr(
            request, "steps_retiring", None
        ):
            return
        super().message_user(request, message, level, extra_tags, fail_silently)

    @admin.action(description="Restore the selected retired steps (with learners' progress)")
    def restore(self, request: HttpRequest, queryset: QuerySet[Step]) -> None:
        restored = steps_restore(step_ids=queryset.values_list("pk", flat=True), by=request.user)
        self.message_user(
            request, f"{restored} step(s) restored, with learners' progress.", messages.SUCCESS
        )


@admin.register(ChoiceGroup)
class ChoiceGroupAdmin(ContentAdmin):
    list_display = ("title", "track", "key", "required")
    list_filter = ("track",)
    list_select_related = ("track",)
    search_fields = ("title", "key", "track__title")


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


@admin.register(TrackChange)
class TrackChangeAdmin(ReadOnlyAdmin):
    """The history of curators' changes to tracks, as learners are told of them."""

    list_display = ("occurred_at", "track", "kind", "step_title", "detail", "who")
    list_filter = ("kind", "source", "track")
    list_select_related = ("track", "changed_by")

    @admin.display(description="by", ordering="changed_by__email")
    def who(self, change: TrackChange) -> str:
        if change.changed_by is not None:
            return str(change.changed_by)
        return change.get_source_display()

    search_fields = ("step_title", "step_key", "detail")
    date_hierarchy = "occurred_at"


def resource_admin_extend(extension: type[admin.ModelAdmin]) -> None:
    """The hook for apps above content to add to the resource admin (columns, filters,
    inlines, actions) without content knowing them: ``extension`` goes in front of the
    admin registered now, so its methods can build on ``super()``."""
    current = type(admin.site.get_model_admin(Resource))
    admin.site.unregister(Resource)
    admin.site.register(Resource, type(f"{extension.__name__}", (extension, current), {}))

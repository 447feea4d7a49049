"""Link health in admin: the resource list gains health; digests are opted into here.

The content app's resource admin is extended through the hook it offers
(``resource_admin_extend``): a mixin adds the badge, the filter, the history inline and
the actions, whatever order the apps load in.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString

from apps.content.admin import resource_admin_extend
from apps.content.models import Resource
from apps.core.errors import ApplicationError
from apps.linkhealth.models import (
    BrokenLinkReport,
    LinkCheck,
    LinkCheckRun,
    LinkDigestSubscription,
)
from apps.linkhealth.outcomes import HEALTH_CHOICES, Outcome
from apps.linkhealth.services import links_check_enqueue, resource_url_replace
from apps.linkhealth.templatetags.linkhealth import health_badge


class HealthFilter(admin.SimpleListFilter):
    title = "link health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(HEALTH_CHOICES)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == Outcome.UNKNOWN:
            return queryset.filter(Q(health__isnull=True) | Q(health__health=Outcome.UNKNOWN))
        if value in dict(HEALTH_CHOICES):
            return queryset.filter(health__health=value)
        return queryset


class LinkCheckInline(admin.TabularInline):
    model = LinkCheck
    verbose_name = "check"
    verbose_name_plural = "link check history (latest first)"
    fields = (
        "checked_at",
        "outcome",
        "status_code",
        "redirects",
        "final_url",
        "elapsed_ms",
        "error",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-checked_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[LinkCheck]:
        latest = (
            LinkCheck.objects.filter(resource=OuterRef("resource"))
            .order_by("-checked_at", "-id")
            .values("pk")[: settings.LINK_CHECK_HISTORY_SHOWN]
        )
        return super().get_queryset(request).filter(pk__in=Subquery(latest))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Whoever may see a resource may see how its link fared.
        return request.user.has_perm("content.view_resource")


class ResourceHealthAdmin(admin.ModelAdmin):
    """What link health adds to the resource admin (see ``resource_admin_extend``)."""

    actions = ["check_now", "use_new_url"]
    readonly_fields = ("link_health",)

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*super().get_list_display(request), "health_badge", "last_checked", "suggestion")

    def get_list_filter(self, request: HttpRequest) -> Any:
        return (HealthFilter, *super().get_list_filter(request))

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        inlines = list(super().get_inlines(request, obj))
        if obj is not None:  # a resource being added has no history yet
            inlines.append(LinkCheckInline)
        return inlines

    def get_queryset(self, request: HttpRequest) -> QuerySet[Resource]:
        return super().get_queryset(request).select_related("health")

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<int:object_id>/use-new-url/",
                self.admin_site.admin_view(self.use_new_url_view),
                name="linkhealth_use_new_url",
            )
        ]
        return extra + super().get_urls()

    # --- columns -----------------------------------------------------------------------

    @staticmethod
    def _state(resource: Resource) -> Any:
        return getattr(resource, "health", None)  # None when never checked

    @admin.display(description="health", ordering="health__health")
    def health_badge(self, resource: Resource) -> SafeString:
        state = self._state(resource)
        return health_badge(state.health if state else Outcome.UNKNOWN)

    @admin.display(description="last check", ordering="health__last_checked_at")
    def last_checked(self, resource: Resource) -> str:
        state = self._state(resource)
        if state is None or state.last_checked_at is None:
            return "never"
        code = f" {state.last_status_code}" if state.last_status_code else ""
        return f"{state.last_checked_at:%Y-%m-%d %H:%M} ({state.last_outcome}{code})"

    @admin.display(description="suggested URL")
    def suggestion(self, resource: Resource) -> str:
        state = self._state(resource)
        if state is None or state.health != Outcome.MOVED or not state.suggested_url:
            return ""
        # The changelist is one form (with its CSRF token): this button posts it elsewhere.
        return format_html(
            '<a href="{}" rel="noopener noreferrer">{}</a> '
            '<button type="submit" class="button" formaction="{}" formmethod="post">'
            "Use the new URL</button>",
            state.suggested_url,
            state.suggested_url,
            reverse("admin:linkhealth_use_new_url", args=[resource.pk]),
        )

    @admin.display(description="link health")
    def link_health(self, resource: Resource) -> str:
        state = self._state(resource)
        if state is None:
            return "Never checked."
        parts = [
            format_html("{} {}", health_badge(state.health), self.last_checked(resource)),
            format_html("<br>{}", state.last_detail) if state.last_detail else "",
            format_html("<br>last OK: {}", f"{state.last_ok_at:%Y-%m-%d %H:%M}")
            if state.last_ok_at
            else "",
            format_html("<br>consecutive failures: {}", state.consecutive_failures)
            if state.consecutive_failures
            else "",
            self.suggestion(resource),
        ]
        return format_html("{}" * len(parts), *parts)

    # --- actions -------------------------------------------------------------------------

    @admin.action(description="Check the selected links now")
    def check_now(self, request: HttpRequest, queryset: QuerySet[Resource]) -> None:
        run = links_check_enqueue(
            resource_ids=list(queryset.values_list("pk", flat=True)),
            kind=LinkCheckRun.Kind.MANUAL,
        )
        if settings.CELERY_TASK_ALWAYS_EAGER:
            text = f"Checked {run.total} link(s)."
        else:
            text = f"{run.total} link(s) queued for checking."
        self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="Use the new URL of the selected moved links")
    def use_new_url(self, request: HttpRequest, queryset: QuerySet[Resource]) -> None:
        changed = 0
        for resource in queryset.filter(health__health=Outcome.MOVED).select_related("health"):
            if self._replace(request, resource):
                changed += 1
        self.message_user(request, f"{changed} resource(s) now use their new URL.")

    def use_new_url_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        resource = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_change_permission(request, resource):
            return HttpResponseRedirect(reverse("admin:index"))
        if self._replace(request, resource):
            self.message_user(request, f"“{resource}” now uses {resource.url}.")
        back = request.headers.get("referer", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("admin:content_resource_changelist")
        return HttpResponseRedirect(back)

    def _replace(self, request: HttpRequest, resource: Resource) -> bool:
        state = self._state(resource)
        if state is None or state.health != Outcome.MOVED or not state.suggested_url:
            self.message_user(request, f"“{resource}” has no new URL to use.", messages.WARNING)
            return False
        try:
            resource_url_replace(resource=resource, url=state.suggested_url)
        except ApplicationError as exc:
            self.message_user(request, f"“{resource}”: {exc.message}", messages.ERROR)
            return False
        return True


resource_admin_extend(ResourceHealthAdmin)


@admin.register(LinkDigestSubscription)
class LinkDigestSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "is_active", "created_at")
    list_editable = ("is_active",)
    list_select_related = ("user",)
    autocomplete_fields = ("user",)


@admin.register(BrokenLinkReport)
class BrokenLinkReportAdmin(admin.ModelAdmin):
    list_display = ("resource", "user", "created_at", "resolved_at")
    list_filter = ("resolved_at",)
    list_select_related = ("resource", "user")
    search_fields = ("resource__title", "resource__url", "user__email")
    raw_id_fields = ("resource", "user")
    date_hierarchy = "created_at"

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from apps.curation.models import CuratorDashboard


@admin.register(CuratorDashboard)
class CuratorDashboardAdmin(admin.ModelAdmin):
    # Every staff member may open the dashboard (the page checks is_staff alone).
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: object = None) -> HttpResponse:
        return redirect("curation:dashboard")

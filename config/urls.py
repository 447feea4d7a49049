from django.contrib import admin
from django.urls import include, path

from apps.core import views as core_views

admin.site.site_header = "Stepwise curation"
admin.site.site_title = "Stepwise admin"
admin.site.index_title = "Roadmaps, resources and progress"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("config.api")),
    path("healthz", core_views.healthz, name="healthz"),
    path("account/", include("apps.accounts.urls")),
    path("", include("apps.progress.urls")),
    path("", include("apps.content.urls")),
]

handler404 = "apps.core.views.page_not_found"

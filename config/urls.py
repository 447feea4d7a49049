from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core import views as core_views
from apps.core.json_guard import headless_not_found

admin.site.site_header = "Stepwise curation"
admin.site.site_title = "Stepwise admin"
admin.site.index_title = "Roadmaps, resources and progress"
# Staff sign in through allauth like everyone else: its rate limits and MFA apply.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # allauth mounts its phone routes although Stepwise has no phone numbers (they would
    # answer 500): a JSON 404 in allauth's shape instead.
    re_path(
        r"^_allauth/[^/]+/v1/(?:account/phone|auth/phone/verify(?:/resend)?)$", headless_not_found
    ),
    path("_allauth/", include("allauth.headless.urls")),
    # Any other path under /_allauth/ is a JSON 404 too: apps there never read HTML.
    re_path(r"^_allauth/", headless_not_found),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("config.api")),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("reminders/", include("apps.reminders.urls")),
    path("account/", include("apps.accounts.urls")),
    path("", include("apps.learning.urls")),
    path("", include("apps.linkhealth.urls")),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"

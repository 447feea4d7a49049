from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.core import headless_spec
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
    # answer 500), the confirmation of a login code although login by code is off, and
    # token refresh although session tokens have no refresh token: a JSON 404 in allauth's
    # shape instead, and its OpenAPI document leaves them out.
    re_path(
        r"^_allauth/[^/]+/v1/(?:account/phone|auth/phone/verify(?:/resend)?|auth/code/confirm"
        r"|tokens/refresh)$",
        headless_not_found,
    ),
    # allauth's document of the sign-in API, without what Stepwise does not serve.
    path("_allauth/openapi.json", headless_spec.openapi_json, name="headless-openapi"),
    path("_allauth/openapi.yaml", headless_spec.openapi_yaml),
    path("_allauth/", include("allauth.headless.urls")),
    # Any other path under /_allauth/ is a JSON 404 too: apps there never read HTML.
    re_path(r"^_allauth/", headless_not_found),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "api/docs/auth/",
        SpectacularSwaggerSplitView.as_view(
            url_name="headless-openapi", title="Stepwise sign-in API (allauth headless)"
        ),
        name="api-docs-auth",
    ),
    path("api/v1/", include("config.api")),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("reminders/", include("apps.reminders.urls")),
    path("staff/curation/", include("apps.curation.urls")),
    path("account/", include("apps.accounts.urls")),
    path("", include("apps.learning.urls")),
    path("", include("apps.linkhealth.urls")),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"

from django.urls import path

from apps.learning import views

app_name = "learning"
urlpatterns = [
    path("", views.home, name="home"),
    path("tracks/", views.track_catalog, name="catalog"),
    path("tracks/<slug:slug>/", views.track_detail, name="track"),
    path(
        "tracks/<slug:slug>/steps/<slug:key>/status/", views.step_status_change, name="step-status"
    ),
    path("dashboard/", views.dashboard, name="dashboard"),
    # Beside the account pages (accounts:profile, accounts:delete), which link to it.
    path("account/export/", views.data_export, name="export"),
]

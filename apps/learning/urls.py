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
    path("tracks/<slug:slug>/steps/<slug:key>/note/", views.step_note, name="step-note"),
    path("tracks/<slug:slug>/all/<slug:kind>/", views.track_bulk, name="track-bulk"),
    path("tracks/<slug:slug>/undo/<uuid:action_id>/", views.bulk_undo, name="bulk-undo"),
    path("dashboard/", views.dashboard, name="dashboard"),
    # Beside the account pages (accounts:profile, accounts:delete), which link to it.
    path("account/export/", views.data_export, name="export"),
]

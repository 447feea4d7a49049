from django.urls import path

from apps.learning import public_views, views

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
    path("account/public/", public_views.public_settings, name="public-settings"),
    path("account/calendar/", public_views.calendar_settings, name="calendar-settings"),
    path("calendar/<str:token>.ics", public_views.calendar_feed, name="calendar-feed"),
    path("u/<slug:handle>/", public_views.public_page, name="public-page"),
    path("u/<slug:handle>/<slug:track>.svg", public_views.public_badge, name="public-badge"),
]

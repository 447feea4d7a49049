from django.urls import path

from apps.progress import views

app_name = "progress"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path(
        "tracks/<slug:slug>/steps/<slug:key>/status/",
        views.step_status_change,
        name="step-status",
    ),
]

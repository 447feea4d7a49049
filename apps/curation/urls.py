from django.urls import path

from apps.curation import views

app_name = "curation"
urlpatterns = [
    path("", views.curation_dashboard, name="dashboard"),
    path("refresh/", views.curation_refresh_request, name="refresh"),
    path("<slug:table>.csv", views.curation_csv, name="csv"),
]

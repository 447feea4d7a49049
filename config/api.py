"""Version 1 of the REST API, mounted at /api/v1/. Each domain app contributes its routes."""

from django.urls import path  # noqa: F401 - used as routes are added

app_name = "api"
urlpatterns: list = []

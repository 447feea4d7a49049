from django.urls import path

from apps.content import views

app_name = "content"
urlpatterns = [
    path("", views.home, name="home"),
    path("tracks/", views.track_catalog, name="catalog"),
    path("tracks/<slug:slug>/", views.track_detail, name="track"),
]

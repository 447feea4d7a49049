from django.urls import path

from apps.reminders import views

app_name = "reminders"
urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("keep-on/<str:token>/", views.keep_on, name="keep_on"),
]

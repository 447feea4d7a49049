from django.urls import path

from apps.accounts import views

app_name = "accounts"
urlpatterns = [
    path("", views.profile, name="profile"),
    path("delete/", views.account_delete, name="delete"),
]

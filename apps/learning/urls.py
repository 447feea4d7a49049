from django.urls import path

from apps.learning import views

app_name = "learning"
urlpatterns = [
    # Beside the account pages (accounts:profile, accounts:delete), which link to it.
    path("account/export/", views.data_export, name="export"),
]

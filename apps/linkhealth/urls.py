from django.urls import path

from apps.linkhealth import views

app_name = "linkhealth"
urlpatterns = [
    path("links/report/<int:resource_id>/", views.link_report, name="report"),
    path("staff/link-health/", views.link_health_page, name="dashboard"),
]

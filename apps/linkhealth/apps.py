from django.apps import AppConfig


class LinkhealthConfig(AppConfig):
    name = "apps.linkhealth"
    label = "linkhealth"
    verbose_name = "Link health"

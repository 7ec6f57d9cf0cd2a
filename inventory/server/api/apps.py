from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "inventory.server.api"
    label = "api"
    verbose_name = "API"

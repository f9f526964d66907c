from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "newsstand.api"
    label = "api"

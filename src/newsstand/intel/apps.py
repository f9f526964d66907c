from django.apps import AppConfig


class IntelConfig(AppConfig):
    name = "newsstand.intel"
    label = "intel"

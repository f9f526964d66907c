from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "newsstand.demo"
    label = "demo"

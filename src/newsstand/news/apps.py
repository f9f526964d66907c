from django.apps import AppConfig


class NewsConfig(AppConfig):
    name = "newsstand.news"
    label = "news"

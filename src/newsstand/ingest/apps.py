from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "newsstand.ingest"
    label = "ingest"

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_index(sender, using, **kwargs):
    """A later migration that rebuilds news_article on SQLite (how SQLite alters a column)
    drops the search triggers with the old table; checking after every migrate puts them
    back and rebuilds the index. A single query when nothing is missing."""
    from django.db import connections

    from newsstand.news.search import install_search_index

    connection = connections[using]
    if "news_article" in connection.introspection.table_names():
        install_search_index(connection)


class WebConfig(AppConfig):
    name = "newsstand.web"
    label = "web"

    def ready(self):
        # post_migrate is sent per app with models; web has none, so listen for news's.
        news = self.apps.get_app_config("news")
        post_migrate.connect(_ensure_search_index, sender=news, dispatch_uid="newsstand.web.search_index")

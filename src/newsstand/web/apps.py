from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


def _ensure_search_index(sender, using, **kwargs):
    """A later migration that rebuilds news_article on SQLite (how SQLite alters a column)
    drops the search triggers with the old table; checking after every migrate puts them
    back and rebuilds the index. A single query when nothing is missing."""
    from django.db import connections

    from newsstand.news.search import install_search_index

    connection = connections[using]
    if "news_article" in connection.introspection.table_names():
        install_search_index(connection)


def _ensure_page_indexes(sender, using, plan=None, **kwargs):
    """The same for the reader pages' indexes (newsstand.news.queries.PAGE_INDEXES), which a
    table rebuild drops too; CREATE INDEX IF NOT EXISTS, so a no-op when they are there. Only
    once the migration that adds them has run (a test database migrated to an older state
    is left as asked)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from newsstand.news.queries import install_page_indexes

    connection = connections[using]
    tables = connection.introspection.table_names()
    if "news_article" not in tables or MigrationRecorder.Migration._meta.db_table not in tables:
        return
    recorder = MigrationRecorder(connection)
    if ("news", "0004_page_speed_indexes") in recorder.applied_migrations():
        install_page_indexes(connection)


class WebConfig(AppConfig):
    name = "newsstand.web"
    label = "web"

    def ready(self):
        from newsstand.web import pagecache

        # post_migrate is sent per app with models; web has none, so listen for news's.
        news = self.apps.get_app_config("news")
        post_migrate.connect(_ensure_search_index, sender=news, dispatch_uid="newsstand.web.search_index")
        post_migrate.connect(_ensure_page_indexes, sender=news, dispatch_uid="newsstand.web.page_indexes")
        # A change saved in this process shows on the next request (other processes' changes,
        # e.g. a worker's, are seen through the database stamp: see newsstand.web.pagecache).
        post_save.connect(pagecache.data_changed, dispatch_uid="newsstand.web.pagecache.save")
        post_delete.connect(pagecache.data_changed, dispatch_uid="newsstand.web.pagecache.delete")

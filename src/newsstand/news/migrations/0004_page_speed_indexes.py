"""Indexes that keep the reader pages' queries from growing with the table (see
PAGE_INDEXES in newsstand.news.queries, which says what each one is for). Raw SQL rather
than AddIndex because two of them exist only on SQLite; newsstand.web.apps puts them back
after any later migration that rebuilds news_article on SQLite."""

from django.db import migrations


def install(apps, schema_editor):
    from newsstand.news.queries import install_page_indexes

    install_page_indexes(schema_editor.connection)


def uninstall(apps, schema_editor):
    from newsstand.news.queries import uninstall_page_indexes

    uninstall_page_indexes(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("news", "0003_search_index"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]

"""Full-text search index: an FTS5 table with sync triggers on SQLite, a GIN expression
index on PostgreSQL (see newsstand.news.search). Nothing on other databases."""

from django.db import migrations


def install(apps, schema_editor):
    from newsstand.news.search import install_search_index

    install_search_index(schema_editor.connection)


def uninstall(apps, schema_editor):
    from newsstand.news.search import uninstall_search_index

    uninstall_search_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("news", "0002_stories_tags_related"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]

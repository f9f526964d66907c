"""Query shapes that do not grow with the table: every query a reader page sends is checked
with SQLite's EXPLAIN QUERY PLAN, and the two ways of listing a tag's articles agree."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsstand.news import queries
from newsstand.news.models import Article, Tag
from tests.web import builders as b

pytestmark = pytest.mark.django_db

# Tables small by nature (publishers), or subqueries the plan names (sub0, …).
SMALL = re.compile(r"^(ingest_source|sub\d+|CONSTANT ROW)\b")


@pytest.fixture
def world():
    sources = [b.source(favicon_url="https://i.example/f.ico") for _ in range(3)]
    items = [b.article(sources[i % 3], minutes_ago=i, image_url="https://i.example/a.jpg") for i in range(24)]
    stories = [b.story(items[i:i + 4]) for i in range(0, 24, 4)]
    common, rare = b.tag("Common", items), b.tag("Rare", items[5:7])
    b.relate(items[0], items[1:4])
    b.retitle(items[0], ["Old title"])
    b.article(sources[1], duplicate_of=items[0])
    return {"items": items, "source": sources[0], "common": common, "rare": rare, "story": stories[0]}


def plans(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [row[-1] for row in cursor.fetchall()]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="EXPLAIN QUERY PLAN is SQLite's")
@pytest.mark.parametrize("which", ["home", "article", "source", "tag-common", "tag-rare", "story", "older"])
def test_no_page_query_reads_a_whole_table(client, world, which, settings):
    settings.NEWSSTAND_PAGE_CACHE_SECONDS = 0
    items = world["items"]
    url = {"home": "/", "article": f"/articles/{items[0].pk}", "source": f"/sources/{world['source'].pk}",
           "tag-common": "/tags/common", "tag-rare": "/tags/rare", "story": f"/stories/{world['story'].pk}",
           "older": "/?cursor=" + queries.encode_cursor(items[3].published_at, items[3].pk)}[which]
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    for query in ctx.captured_queries:
        sql = query["sql"]
        for line in plans(sql):
            assert "LIST SUBQUERY" not in line, (line, sql)  # an IN (SELECT …) over every row
            scanned = re.match(r"SCAN (.+)", line)
            if scanned and not SMALL.match(scanned.group(1)):
                # A walk of an index in the query's order, stopped by LIMIT, is fine; a scan is not.
                assert "INDEX" in line and " LIMIT " in sql, (line, sql)


def test_the_two_shapes_of_a_tag_listing_agree(world, monkeypatch):
    """`tagged` walks the newest articles for a common tag and sorts a rare tag's articles:
    either way the same articles in the same order."""
    for tag in (world["common"], world["rare"]):
        expected = list(queries.front_page_articles().filter(articletag__tag=tag)
                        .order_by("-published_at", "-id").values_list("id", flat=True))
        for factor in (0, 10**9):  # force the sort, then the walk
            monkeypatch.setattr(queries, "WALKED_ROWS_PER_SORTED_ROW", factor)
            got = list(queries.tagged(queries.front_page_articles(), tag, wanted=5)
                       .order_by("-published_at", "-id").values_list("id", flat=True))
            assert got == expected, (tag, factor)
            page = queries.page_after(queries.tagged(queries.front_page_articles(), tag, wanted=5), None, size=5)
            assert [a.pk for a in page.items] == expected[:5]


def test_the_cheaper_shape_is_chosen(world):
    # The real article count: article_span() reads the highest id, and on PostgreSQL ids keep
    # growing across tests (sequences survive rollbacks), which would skew this small world.
    span = Article.objects.count()
    assert "EXISTS" in str(queries.tagged(queries.front_page_articles(), world["common"], 4, span).query)
    assert "EXISTS" not in str(queries.tagged(queries.front_page_articles(), world["rare"], 4, span).query)
    # A tag on 1% of a million articles: walking ~2,000 rows beats sorting 10,000.
    big = Tag(pk=10**6, slug="big", name="Big", article_count=10_000)
    assert "EXISTS" in str(queries.tagged(queries.front_page_articles(), big, 20, 1_000_000).query)
    # A tag on 50 of a million: sorting 50 beats walking 400,000.
    small = Tag(pk=10**6 + 1, slug="small", name="Small", article_count=50)
    assert "EXISTS" not in str(queries.tagged(queries.front_page_articles(), small, 20, 1_000_000).query)


def test_page_indexes_come_back_after_a_table_rebuild():
    """SQLite rebuilds a table to alter it, keeping only the indexes models declare; the
    post_migrate hook puts ours back (as it does the search triggers)."""
    from django.core.management import call_command

    names = set(queries.page_indexes(connection.vendor))
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    call_command("migrate", "news", verbosity=0, interactive=False)
    present = set(connection.introspection.get_constraints(connection.cursor(), "news_article")) | \
        set(connection.introspection.get_constraints(connection.cursor(), "news_tag"))
    assert names <= present

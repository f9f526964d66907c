"""No N+1: every page issues the same number of queries for 3 items as for 30. Each case
builds a world of a given size and returns the URL to fetch."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.web import builders as b

pytestmark = pytest.mark.django_db


def count_queries(client, url) -> int:
    client.get(url)  # warm: sessions, content types and other one-off lookups
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _home(n):
    sources = [b.source(favicon_url="https://i.example/f.ico") for _ in range(4)]
    items = [b.article(sources[i % 4], minutes_ago=i, image_url="https://i.example/a.jpg") for i in range(n)]
    for i in range(0, n, 3):
        b.story(items[i:i + 3])
    for k in range(4):
        b.tag(f"Topic{k}", items[k::4])
    return "/"


def _article(n):
    src, others = b.source(favicon_url="https://i.example/f.ico"), [b.source() for _ in range(3)]
    item = b.article(src, image_url="https://i.example/a.jpg")
    related = [b.article(others[i % 3], image_url="https://i.example/r.jpg") for i in range(n)]
    b.relate(item, related)
    for k in range(n):
        b.tag(f"Tag{k}", [item])
    for i in range(n):
        b.article(others[i % 3], duplicate_of=item)
    b.retitle(item, [f"Old {i}" for i in range(n)])
    b.story([item] + related)
    return f"/articles/{item.pk}"


def _source(n):
    src = b.source()
    items = b.many(src, n)
    b.story(items)
    return f"/sources/{src.pk}"


def _tag(n):
    items = [b.article(b.source()) for _ in range(n)]
    b.tag("Counted", items)
    return "/tags/counted"


def _story(n):
    items = [b.article(b.source()) for _ in range(n)]
    return f"/stories/{b.story(items).pk}"


def _search(n):
    for i in range(n):
        b.article(b.source(), f"Counting headline {i}")
    return "/search?q=counting&sort=newest"


def _feed(n):
    src = b.source()
    items = b.many(src, n)
    b.tag("Fed", items)
    return "/feed.atom"


def _search_feed(n):
    for i in range(n):
        b.article(b.source(), f"Counting headline {i}")
    return "/search/feed.rss?q=counting"


def _sitemap(n):
    src = b.source()
    b.many(src, n)
    return "/sitemap-articles.xml"


@pytest.mark.parametrize("build", [_home, _article, _source, _tag, _story, _search, _feed, _search_feed, _sitemap],
                         ids=lambda f: f.__name__.strip("_"))
def test_query_count_is_constant(client, build):
    from newsstand.news.models import Article, Story, Tag
    from newsstand.ingest.models import Source

    small = count_queries(client, build(3))
    for model in (Article, Story, Tag, Source):
        model.objects.all().delete()
    large = count_queries(client, build(30))
    assert small == large, (small, large)

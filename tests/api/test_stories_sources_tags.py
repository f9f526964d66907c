"""GET /api/stories/{id}, /api/sources and /api/tags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from newsstand.ingest.models import Source
from newsstand.news.models import Tag
from tests.api.newsroom import T0, make_article

pytestmark = pytest.mark.django_db


def test_story(client, newsroom):
    body = client.get(f"/api/stories/{newsroom.story.pk}").json()
    assert body["id"] == newsroom.story.pk and body["headline"] == "Harbour bridge reopens"
    assert body["first_seen_at"] == "2025-02-28T12:00:00+00:00"
    assert body["article_count"] == 2 and body["source_count"] == 2
    # Its readable articles newest first, in the list-item shape; the pending one is not shown.
    assert [a["id"] for a in body["articles"]] == [newsroom.visible[0].pk, newsroom.visible[1].pk]
    assert body["articles"][0]["permalink"].endswith(f"/articles/{newsroom.visible[0].pk}")
    assert body["articles_next"] is None


def test_big_story_points_to_the_rest(client, newsroom):
    for i in range(105):
        make_article(newsroom.sources[i % 3], 600 + i, story=newsroom.story, when=T0 - timedelta(minutes=i + 1))
    body = client.get(f"/api/stories/{newsroom.story.pk}").json()
    assert len(body["articles"]) == 100 and body["articles_next"]
    rest = client.get("/api/articles", {"story": newsroom.story.pk, "cursor": body["articles_next"], "limit": 100}).json()
    assert len(rest["items"]) == 107 - 100 and rest["next"] is None
    assert not {a["id"] for a in body["articles"]} & {a["id"] for a in rest["items"]}


def test_unknown_story_is_a_json_404(client, newsroom):
    response = client.get("/api/stories/999999")
    assert response.status_code == 404 and response.json() == {"error": "There is no story 999999"}
    assert client.get("/api/stories/99999999999999999999999").status_code == 404


def test_sources(client, newsroom):
    body = client.get("/api/sources").json()
    assert set(body) == {"items"}
    names = [s["name"] for s in body["items"]]
    assert names == ["Daily Planet", "The Bugle", "Wikinews"]
    planet = body["items"][0]
    # Readable articles only (its pending article is not counted).
    assert planet["article_count"] == sum(1 for a in newsroom.visible if a.source_id == planet["id"])
    assert planet == {"id": newsroom.sources[0].pk, "name": "Daily Planet",
                      "homepage_url": "https://dailyplanet.example/", "favicon_url": None,
                      "attribution": "From Daily Planet", "license_url": None,
                      "article_count": planet["article_count"]}


def test_sources_query_count_is_constant(client, newsroom):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/sources").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    Source.objects.bulk_create([Source(name=f"Outlet {i}") for i in range(30)])
    assert count() == before == 3


def test_tags_most_used_first_with_cursor(client, newsroom):
    Tag.objects.bulk_create([Tag(slug=f"extra{i}", name=f"Extra{i}", article_count=i % 2) for i in range(7)])
    body = client.get("/api/tags").json()
    assert body["next"] is None and len(body["items"]) == 9
    assert body["items"][0] == {"slug": "harbourbridge", "name": "HarbourBridge", "kind": "place", "article_count": 2}
    counts = [t["article_count"] for t in body["items"]]
    assert counts == sorted(counts, reverse=True)
    walked, cursor = [], None
    while True:
        page = client.get("/api/tags", {"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        walked += [t["slug"] for t in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert walked == [t["slug"] for t in body["items"]]


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"cursor": "nope"},
                                   {"cursor": ""}, {"cursor": "dHwxfA"}])
def test_tags_bad_input(client, newsroom, query):
    response = client.get("/api/tags", query)
    assert response.status_code == 400 and set(response.json()) == {"error"}

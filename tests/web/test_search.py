"""Full-text search through the one interface (news.search), on whichever database the
suite runs (SQLite FTS5, or PostgreSQL with NEWSSTAND_DATABASE_URL): ranking, filters,
highlighting that escapes everything but our <mark>, keeping the index in sync with every
kind of write, pagination, and the search page's bad input."""

from datetime import datetime, timezone

import pytest
from django.db import connection

from newsstand.news.models import Article
from newsstand.news.queries import InvalidQuery
from newsstand.news.search import install_search_index, parse_query, search_articles, to_fts5, to_websearch
from tests.web import builders as b


# --- the query language (pure) ------------------------------------------------------------
@pytest.mark.parametrize("raw, groups, excluded", [
    ("bridge", (("bridge",),), ()),
    ("Bridge  Repairs", (("bridge",), ("repairs",)), ()),
    ('"grooming gangs" report', (("grooming gangs",), ("report",)), ()),
    ("army OR navy recruits", (("army", "navy"), ("recruits",)), ()),
    ("flights -israel", (("flights",),), ("israel",)),
    ('-"cold cases" audit', (("audit",),), ("cold cases",)),
    ('NEAR(a b) AND x* ^y "unterminated', (("near a",), ("b",), ("and",), ("x",), ("y",), ("unterminated",)), ()),
    ("OR bridge", (("bridge",),), ()),
    ("*** ''' ---", (), ()),
    ("", (), ()),
])
def test_parse_query(raw, groups, excluded):
    parsed = parse_query(raw)
    assert parsed.groups == groups and parsed.excluded == excluded


def test_engine_renderings_quote_every_phrase():
    parsed = parse_query('army OR navy "cold cases" -israel')
    assert to_fts5(parsed) == '(("army" OR "navy") AND ("cold cases")) NOT "israel"'
    assert to_websearch(parsed) == '"army" or "navy" "cold cases" -"israel"'


# --- against the database ---------------------------------------------------------------------


@pytest.fixture
def corpus(db):
    paper, wire = b.source("Daily Example"), b.source("Wire Service")
    return {
        "title": b.article(paper, "Volcano erupts near the coast", minutes_ago=300,
                           text="Residents left their homes as ash fell."),
        "body": b.article(wire, "Island news roundup", minutes_ago=10,
                          text="Markets were calm. A volcano was mentioned briefly among other items."),
        "other": b.article(wire, "Football results", minutes_ago=5, text="The home side won three nil."),
        "pending": b.article(paper, "Volcano page still loading", extraction_status="pending"),
        "paper": paper, "wire": wire,
    }


def ids(page):
    return [hit.article.pk for hit in page.hits]


@pytest.mark.django_db
def test_title_matches_rank_above_body_matches(corpus):
    found = search_articles("volcano")
    assert ids(found) == [corpus["title"].pk, corpus["body"].pk]  # pending never shows
    assert found.hits[0].score > found.hits[1].score


@pytest.mark.django_db
def test_newest_order(corpus):
    assert ids(search_articles("volcano", order="newest")) == [corpus["body"].pk, corpus["title"].pk]


@pytest.mark.django_db
def test_stemming_phrases_or_and_exclusion(corpus):
    assert ids(search_articles("erupting volcanoes")) == [corpus["title"].pk]
    assert ids(search_articles('"other items"')) == [corpus["body"].pk]
    assert set(ids(search_articles("football OR volcano"))) == {corpus["title"].pk, corpus["body"].pk, corpus["other"].pk}
    assert ids(search_articles("volcano -markets")) == [corpus["title"].pk]
    assert ids(search_articles("***")) == [] and ids(search_articles("")) == []


@pytest.mark.django_db
def test_filters_by_source_and_dates(corpus):
    assert ids(search_articles("volcano", source_id=corpus["paper"].pk)) == [corpus["title"].pk]
    cutoff = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)  # between the two (b.NOW is 12:00)
    assert ids(search_articles("volcano", since=cutoff)) == [corpus["body"].pk]
    assert ids(search_articles("volcano", until=cutoff)) == [corpus["title"].pk]


@pytest.mark.django_db
def test_highlights_escape_everything_but_our_mark(db):
    src = b.source()
    b.article(src, "<b>Volcano</b> & <script>alert(1)</script>",
              text='Before <img src=x onerror=alert(1)> the volcano "woke" & roared.')
    hit = search_articles("volcano").hits[0]
    assert "<mark>Volcano</mark>" in hit.title_html
    assert "&lt;b&gt;" in hit.title_html and "&lt;script&gt;" in hit.title_html and "<script" not in hit.title_html
    assert "&lt;img" in hit.snippet_html and "<mark>volcano</mark>" in hit.snippet_html
    assert hit.snippet_html.replace("<mark>", "").replace("</mark>", "").count("<") == 0


@pytest.mark.django_db
def test_snippets_have_no_stray_whitespace(db):
    src = b.source()
    b.article(src, "Harbour news", text="The first paragraph ends here.\n\n  The harbour reopened today after the storm.")
    snippet = search_articles("harbour").hits[0].snippet_html
    assert "<mark>harbour</mark> reopened" in snippet
    assert snippet == snippet.strip() and "  " not in snippet and "\n" not in snippet


@pytest.mark.django_db
def test_index_follows_inserts_updates_and_deletes(corpus):
    item = corpus["other"]
    item.title = "Glacier retreats"
    item.save()
    assert ids(search_articles("glacier")) == [item.pk] and ids(search_articles("football")) == []
    Article.objects.filter(pk=item.pk).update(text="Now about avalanches")
    assert ids(search_articles("avalanches")) == [item.pk]
    Article.objects.bulk_create([Article(source=corpus["wire"], title="Tsunami warning lifted",
                                         published_at=b.NOW, extraction_status="done", url="https://w.example/t")])
    assert len(search_articles("tsunami").hits) == 1
    item.delete()
    assert ids(search_articles("glacier")) == [] and ids(search_articles("avalanches")) == []
    # A page that finished extracting becomes findable without any index call.
    Article.objects.filter(pk=corpus["pending"].pk).update(extraction_status="done")
    assert corpus["pending"].pk in ids(search_articles("volcano"))


@pytest.mark.django_db
def test_pagination_by_cursor(db):
    src = b.source()
    made = [b.article(src, f"Volcano report {i}", minutes_ago=i) for i in range(7)]
    first = search_articles("volcano", limit=3, order="newest")
    second = search_articles("volcano", limit=3, order="newest", cursor=first.next_cursor)
    third = search_articles("volcano", limit=3, order="newest", cursor=second.next_cursor)
    assert ids(first) + ids(second) + ids(third) == [a.pk for a in made]
    assert third.next_cursor is None
    for bad in ["nope", "!!!", "bzk5OTk5OTk", ""]:
        if bad:
            with pytest.raises(InvalidQuery):
                search_articles("volcano", cursor=bad)


@pytest.mark.django_db
def test_over_long_query_is_refused(db):
    with pytest.raises(InvalidQuery):
        search_articles("x" * 301)


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5 triggers exist on SQLite only")
def test_lost_triggers_are_put_back_and_the_index_rebuilt(corpus):
    """What a later SQLite table rebuild (AlterField) does to triggers, and the repair that
    post_migrate runs."""
    with connection.cursor() as cur:
        for name in ("news_article_fts_ai", "news_article_fts_au", "news_article_fts_ad"):
            cur.execute(f"DROP TRIGGER {name}")
    b.article(corpus["paper"], "Earthquake shakes the capital")
    assert ids(search_articles("earthquake")) == []
    install_search_index(connection)
    assert len(search_articles("earthquake").hits) == 1


# --- the page ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_search_page_shows_ranked_highlighted_results_with_filters(client, corpus):
    html = client.get("/search", {"q": "volcano"}).content.decode()
    assert html.index("erupts near the coast") < html.index("Island news roundup")
    assert "<mark>volcano</mark>" in html.lower()
    assert 'href="/search/feed.rss?q=volcano"' in html
    html = client.get("/search", {"q": "volcano", "source": corpus["wire"].pk}).content.decode()
    assert "Island news roundup" in html and "erupts near" not in html
    html = client.get("/search", {"q": "volcano", "from": "2026-11-21"}).content.decode()
    assert "Nothing matches" in html
    html = client.get("/search", {"q": "volcano", "from": "2026-11-20", "to": "2026-11-20"}).content.decode()
    assert "erupts near" in html and "Island news roundup" in html


@pytest.mark.django_db
def test_search_page_load_more(client, db):
    src = b.source()
    for i in range(25):
        b.article(src, f"Volcano report {i}", minutes_ago=i)
    html = client.get("/search", {"q": "volcano"}).content.decode()
    assert html.count('class="card" data-item') == 20
    assert 'rel="next" data-load-more="results"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    {"q": "x", "source": "abc"}, {"q": "x", "source": "-1"}, {"q": "x", "from": "2024-13-01"},
    {"q": "x", "to": "yesterday"}, {"q": "x", "from": "2024-05-02", "to": "2024-05-01"},
    {"q": "x", "cursor": "%%%"}, {"q": "x", "sort": "random"}, {"q": "x" * 400}, {"q": "a\x00b"},
    {"q": "x", "from": "20240501"},
])
def test_search_page_bad_input_is_400(client, query):
    response = client.get("/search", query)
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()


@pytest.mark.django_db
def test_search_page_edge_dates_are_fine(client, db):
    assert client.get("/search", {"q": "x", "from": "0001-01-01", "to": "9999-12-31"}).status_code == 200
    assert client.get("/search").status_code == 200


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN expression index exists on PostgreSQL only")
def test_postgres_search_uses_the_gin_index(corpus):
    """The query must spell the indexed expression exactly, or PostgreSQL silently falls back
    to computing a tsvector for every row."""
    from newsstand.news.search import PG_INDEX, _pg_vector

    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute(f"EXPLAIN SELECT a.id FROM news_article a, websearch_to_tsquery('english', %s) q "
                    f"WHERE ({_pg_vector('a')}) @@ q", ["volcano"])
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert PG_INDEX in plan

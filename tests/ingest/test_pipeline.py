"""The whole spine against a real local HTTP server and a real database: poll → store →
fetch page → extract → deduplicate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from newsstand.ingest import pages
from newsstand.ingest.models import Feed, Source
from newsstand.ingest.pages import process_article
from newsstand.ingest.poll import poll_feed
from newsstand.ingest.subscribe import create_feed
from newsstand.news.models import Article, ArticleLink, ExtractionStatus
from tests.ingest.builders import BASE_TIME, article_page, paragraphs, rss, rss_item

pytestmark = pytest.mark.django_db


def serve_story(server, path, title, topic, **page_options):
    return server.route(path, article_page(title, paragraphs(topic), **page_options), content_type="text/html")


def poll_and_read(feed):
    outcome = poll_feed(feed.pk)
    for article_id in outcome.pages_to_read:
        process_article(article_id)
    return outcome


@pytest.fixture
def news_feed(local_server):
    a = serve_story(local_server, "/2026/bridge", "Bridge reopens", "bridge", image="/img/bridge.jpg")
    b = serve_story(local_server, "/2026/budget", "Budget passes", "budget")
    local_server.route("/feed.xml", rss([
        rss_item(a, "Bridge reopens", guid="g-bridge", description="The <b>bridge</b> is open."),
        rss_item(b, "Budget passes", guid="g-budget", published=BASE_TIME - timedelta(hours=3)),
    ]), content_type="application/rss+xml", headers={"ETag": '"v1"'})
    return create_feed(local_server.url("/feed.xml"), "Test News")


def test_poll_stores_full_text_articles(news_feed):
    outcome = poll_and_read(news_feed)
    assert len(outcome.new_article_ids) == 2
    bridge = Article.objects.get(guid="g-bridge")
    assert bridge.extraction_status == ExtractionStatus.DONE
    assert "Paragraph 3 about bridge" in bridge.text
    assert "Privacy. Terms" not in bridge.text  # boilerplate left out
    assert bridge.title == "Bridge reopens" and bridge.byline
    assert bridge.image_url.endswith("/img/bridge.jpg") and bridge.image_url.startswith("http://127.0.0.1")
    assert bridge.summary_html == "The <b>bridge</b> is open."
    assert bridge.word_count > 50 and len(bridge.content_hash) == 64
    feed = Feed.objects.get(pk=news_feed.pk)
    assert feed.last_status == 200 and feed.consecutive_errors == 0 and feed.etag == '"v1"'
    assert feed.next_poll_at > timezone.now()


def test_repoll_never_duplicates_and_uses_conditional_get(news_feed, local_server):
    poll_and_read(news_feed)
    again = poll_and_read(news_feed)
    assert again.new_article_ids == () and Article.objects.count() == 2
    assert local_server.hits("/feed.xml")[-1].headers.get("if-none-match") == '"v1"'
    local_server.route("/feed.xml", "", status=304)
    assert poll_feed(news_feed.pk).status == "not_modified"
    assert Article.objects.count() == 2


def test_same_article_through_other_urls_is_stored_once(local_server, news_feed):
    poll_and_read(news_feed)
    bridge = local_server.url("/2026/bridge")
    other = create_feed(local_server.url("/other.xml"), "Test News")
    local_server.route("/other.xml", rss([
        rss_item(bridge + "?utm_source=rss&utm_medium=feed", "Bridge reopens"),
        rss_item(bridge + "/#comments", "Bridge reopens (comments)"),
        rss_item(bridge + "/amp", "Bridge reopens AMP"),
    ]), content_type="application/rss+xml")
    assert poll_and_read(other).new_article_ids == ()
    assert Article.objects.count() == 2


def test_canonical_link_on_the_page_merges_duplicates(local_server):
    canonical = local_server.url("/story/original")
    serve_story(local_server, "/story/original", "Flood warning", "flood")
    serve_story(local_server, "/mirror/flood", "Flood warning", "flood", canonical=canonical)
    local_server.route("/a.xml", rss([rss_item(canonical, "Flood warning")]), content_type="application/rss+xml")
    local_server.route("/b.xml", rss([rss_item(local_server.url("/mirror/flood"), "Flood warning!")]),
                       content_type="application/rss+xml")
    poll_and_read(create_feed(local_server.url("/a.xml"), "A"))
    outcome = poll_and_read(create_feed(local_server.url("/b.xml"), "A"))
    assert len(outcome.new_article_ids) == 1  # looked new until its page named its canonical URL
    assert Article.objects.count() == 1
    assert ArticleLink.objects.filter(article=Article.objects.get()).count() >= 2


def test_updated_entry_updates_in_place(local_server, news_feed):
    poll_and_read(news_feed)
    bridge = local_server.url("/2026/bridge")
    local_server.route("/feed.xml", rss([
        rss_item(bridge, "Bridge reopens after repairs", guid="g-bridge").replace(
            "</item>", "<atom:updated xmlns:atom='http://www.w3.org/2005/Atom'>2026-11-21T10:00:00Z</atom:updated></item>"),
    ]), content_type="application/rss+xml")
    outcome = poll_and_read(news_feed)
    assert outcome.new_article_ids == () and len(outcome.updated_article_ids) == 1
    assert Article.objects.get(guid="g-bridge").title == "Bridge reopens after repairs"
    assert Article.objects.count() == 2


def test_page_failure_falls_back_to_feed_content_and_is_recorded(local_server):
    content = "<p>" + " ".join(["Full feed text about the harbour expansion."] * 20) + "</p>"
    local_server.route("/f.xml", rss([rss_item(local_server.url("/missing"), "Harbour", content=content)]),
                       content_type="application/rss+xml")
    poll_and_read(create_feed(local_server.url("/f.xml"), "Harbour Daily"))
    article = Article.objects.get()
    assert article.extraction_status == ExtractionStatus.FEED_ONLY
    assert "harbour expansion" in article.text
    assert "404" in article.extraction_error and "feed's text" in article.extraction_error
    source = Source.objects.get(name="Harbour Daily")
    assert source.page_failures == 1 and "404" in source.last_page_error


def test_page_with_no_main_text_and_no_feed_text_is_failed_not_shown(local_server):
    local_server.route("/empty", "<html><body><nav><a href='/'>Home</a></nav></body></html>", content_type="text/html")
    local_server.route("/f.xml", rss([rss_item(local_server.url("/empty"), "Empty")]), content_type="application/rss+xml")
    poll_and_read(create_feed(local_server.url("/f.xml"), "Empty"))
    article = Article.objects.get()
    assert article.extraction_status == ExtractionStatus.FAILED and article.extraction_error
    assert not Article.objects.visible().exists()


def test_xss_in_titles_and_content_is_stored_inert(local_server):
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    local_server.route("/x", article_page("Safe", paragraphs("harbour") + [evil, "<a href='javascript:alert(3)'>x</a>"]),
                       content_type="text/html")
    local_server.route("/f.xml", rss([rss_item(local_server.url("/x"), f"Title {evil}", description=evil,
                                               content=evil)]), content_type="application/rss+xml")
    poll_and_read(create_feed(local_server.url("/f.xml"), "Evil"))
    article = Article.objects.get()
    for value in (article.title, article.summary_html, article.feed_content_html, article.html, article.text):
        lowered = value.lower()
        assert "<script" not in lowered and "onerror" not in lowered and "javascript:" not in lowered


def test_items_without_link_date_or_with_future_date(local_server):
    now = timezone.now()
    serve_story(local_server, "/p1", "Dated", "rail")
    serve_story(local_server, "/p2", "Future", "tram")
    local_server.route("/f.xml", rss([
        rss_item(None, "No link at all", guid="nolink"),
        rss_item(local_server.url("/p1"), "No date", published=None),
        rss_item(local_server.url("/p2"), "From the future", published=now + timedelta(days=30)),
    ]), content_type="application/rss+xml")
    feed = create_feed(local_server.url("/f.xml"), "Odd")
    outcome = poll_and_read(feed)
    assert len(outcome.new_article_ids) == 2
    for article in Article.objects.all():
        assert now - timedelta(minutes=1) <= article.published_at <= timezone.now()
    assert "no link" in Feed.objects.get(pk=feed.pk).last_warning


def test_crash_mid_extraction_leaves_nothing_half_written(local_server, news_feed, monkeypatch):
    outcome = poll_feed(news_feed.pk)
    article_id = outcome.new_article_ids[0]

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(pages, "add_links", crash)
    with pytest.raises(RuntimeError):
        process_article(article_id)
    article = Article.objects.get(pk=article_id)
    assert article.extraction_status == ExtractionStatus.PENDING and article.text == ""  # rolled back whole
    monkeypatch.undo()
    assert process_article(article_id).status == "skipped"  # the lease still holds
    later = timezone.now() + pages.CLAIM_LEASE + timedelta(seconds=1)
    assert process_article(article_id, now=later).status == ExtractionStatus.DONE
    assert Article.objects.count() == 2


def test_retitled_article_keeps_its_headline_history(local_server, news_feed):
    poll_and_read(news_feed)
    local_server.route("/feed.xml", rss([
        rss_item(local_server.url("/2026/bridge"), "Bridge reopens to traffic", guid="g-bridge"),
    ]), content_type="application/rss+xml")
    poll_feed(news_feed.pk)
    bridge = Article.objects.get(guid="g-bridge")
    assert bridge.title == "Bridge reopens to traffic"
    assert list(bridge.headline_history.values_list("title", flat=True)) == ["Bridge reopens"]


def test_feeds_only_mode_never_requests_a_page(local_server, settings):
    settings.NEWSSTAND_FETCH_PAGES = False
    local_server.route("/f.xml", rss([
        rss_item(local_server.url("/p"), "Teaser", description="<p>Only the summary.</p>"),
        rss_item(local_server.url("/q"), "Nothing"),
    ]), content_type="application/rss+xml")
    outcome = poll_feed(create_feed(local_server.url("/f.xml"), "Brief").pk)
    assert len(outcome.new_article_ids) == 2 and outcome.pages_to_read == ()
    assert [r.path for r in local_server.requests] == ["/f.xml"]
    teaser = Article.objects.get(title="Teaser")
    assert teaser.extraction_status == ExtractionStatus.FEED_ONLY and teaser.text == "Only the summary."
    assert Article.objects.get(title="Nothing").extraction_status == ExtractionStatus.FAILED


def test_transient_page_failure_is_retried_later(local_server):
    local_server.route("/f.xml", rss([rss_item(local_server.url("/busy"), "Busy")]), content_type="application/rss+xml")
    local_server.route("/busy", "busy", status=503)
    outcome = poll_feed(create_feed(local_server.url("/f.xml"), "Busy").pk)
    article_id = outcome.pages_to_read[0]
    assert process_article(article_id).status == "retry"
    article = Article.objects.get(pk=article_id)
    assert article.extraction_status == ExtractionStatus.PENDING and "503" in article.extraction_error
    assert article.claimed_until > timezone.now()
    serve_story(local_server, "/busy", "Busy", "port")
    assert process_article(article_id, now=article.claimed_until + timedelta(seconds=1)).status == ExtractionStatus.DONE


def test_racing_worker_that_stored_an_entry_first_wins_it(local_server):
    """Between our lookup and our insert another worker stored one of the entries: the batch
    insert clashes, and the one-by-one fallback keeps the rest."""
    from newsstand.ingest.entries import EntryRow, entry_fields
    from newsstand.ingest.feedparse import ParsedEntry
    from newsstand.ingest.poll import create_articles

    feed = create_feed(local_server.url("/f.xml"), "Race")
    entries = [ParsedEntry(guid=None, link=f"https://race.example/{n}", title=f"T{n}", author="",
                           published=None, updated=None, summary_html="", content_html="",
                           image_url=None, tags=()) for n in range(3)]
    taken = Article.objects.create(source=feed.source, url="https://race.example/1", title="first",
                                   published_at=timezone.now())
    ArticleLink.objects.create(url_key="https://race.example/1", article=taken)
    rows = [EntryRow(e, e.link, entry_fields(e)) for e in entries]
    created = create_articles(feed, rows, timezone.now(), fetch_pages=True)
    assert [Article.objects.get(pk=pk).title for pk, _ in created] == ["T0", "T2"]
    assert [status for _, status in created] == ["pending", "pending"]
    assert Article.objects.count() == 3 and ArticleLink.objects.count() == 3

"""Bad input at the poll level, each against a real local HTTP server: the failure is
recorded in plain words, nothing already stored changes, and the next good poll works."""

from datetime import timedelta

import pytest
from django.utils import timezone

from newsstand.ingest.fetch import FetchConfig
from newsstand.ingest.models import Feed
from newsstand.ingest.politeness import DomainLimiter
from newsstand.ingest.poll import poll_feed
from newsstand.ingest.subscribe import create_feed
from newsstand.news.models import Article
from tests.ingest.builders import rss, rss_item
from tests.localserver import Response, endless_body, stalled_body

pytestmark = pytest.mark.django_db

CONFIG = FetchConfig(allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=200_000, read_timeout=0.5,
                     connect_timeout=1, total_timeout=3, max_redirects=4)

GOOD = rss([rss_item("https://news.example/a", "First story", guid="a"),
            rss_item("https://news.example/b", "Second story", guid="b")])


def serve(server, case):
    """Installs the bad response for `case` at /feed.xml."""
    path = "/feed.xml"
    if case == "malformed xml":
        server.route(path, "<rss><channel><title>Broken<item><title>x</titl", content_type="application/rss+xml")
    elif case == "html as feed":
        server.route(path, "<!doctype html><html><head><title>Shop</title></head><body><p>Buy now</p></body></html>",
                     content_type="application/rss+xml")
    elif case == "over the cap":
        server.route(path, b"<rss>" + b" " * 300_000, content_type="application/rss+xml")
    elif case == "never ends":
        server.handle(path, lambda _r: Response(200, endless_body(), {"Content-Type": "application/rss+xml"}))
    elif case == "stalls":
        server.handle(path, lambda _r: Response(200, stalled_body(stall_seconds=5), {"Content-Type": "application/rss+xml"}))
    elif case == "redirect loop":
        server.route(path, status=302, headers={"Location": "/loop"})
        server.route("/loop", status=302, headers={"Location": path})
    elif case.startswith("http "):
        status = int(case.split()[1])
        headers = {"Retry-After": "3600"} if status == 429 else {}
        server.route(path, "error", status=status, headers=headers)
    else:
        raise AssertionError(case)


CASES = {
    "malformed xml": "not well-formed",
    "html as feed": "HTML",
    "over the cap": "larger than",
    "never ends": "larger than",
    "stalls": "did not",
    "redirect loop": "edirect",
    "http 404": "404",
    "http 500": "500",
    "http 429": "429",
}


@pytest.mark.parametrize("case", CASES)
def test_bad_response_is_recorded_and_recovered_from(local_server, case):
    feed = create_feed(local_server.url("/feed.xml"), "Test")
    local_server.route("/feed.xml", GOOD, content_type="application/rss+xml")
    assert len(poll_feed(feed.pk, config=CONFIG).new_article_ids) == 2
    before = list(Article.objects.order_by("pk").values())

    serve(local_server, case)
    outcome = poll_feed(feed.pk, config=CONFIG)
    feed.refresh_from_db()
    assert outcome.status == "failed"
    assert CASES[case] in feed.last_error, feed.last_error
    assert feed.consecutive_errors == 1 and feed.enabled
    assert feed.next_poll_at > timezone.now()
    if case == "http 429":
        assert feed.next_poll_at >= timezone.now() + timedelta(seconds=3500)
        # Asked again at once (e.g. `fetch --all`), we keep away from the publisher.
        hits = len(local_server.requests)
        assert poll_feed(feed.pk, config=CONFIG).status == "skipped"
        assert len(local_server.requests) == hits
    assert list(Article.objects.order_by("pk").values()) == before

    local_server.route("/feed.xml", GOOD + " ", content_type="application/rss+xml")
    later = DomainLimiter(concurrency=2, rate=0)  # as if the Retry-After hour had passed
    assert poll_feed(feed.pk, config=CONFIG, limiter=later).status == "updated"
    feed.refresh_from_db()
    assert feed.consecutive_errors == 0 and Article.objects.count() == 2


def test_gone_disables_the_feed(local_server):
    feed = create_feed(local_server.route("/feed.xml", "gone", status=410), "Test")
    poll_feed(feed.pk, config=CONFIG)
    feed.refresh_from_db()
    assert not feed.enabled and "gone" in feed.disabled_reason
    assert not Feed.objects.due(timezone.now() + timedelta(days=365)).exists()


def test_permanent_redirect_updates_the_stored_url(local_server):
    local_server.route("/new.xml", GOOD, content_type="application/rss+xml")
    feed = create_feed(local_server.route("/old.xml", status=301, headers={"Location": "/new.xml"}), "Test")
    poll_feed(feed.pk, config=CONFIG)
    feed.refresh_from_db()
    assert feed.url == local_server.url("/new.xml")


def test_empty_feed_is_not_an_error(local_server):
    feed = create_feed(local_server.route("/feed.xml", rss([]), content_type="application/rss+xml"), "Test")
    assert poll_feed(feed.pk, config=CONFIG).status == "updated"
    feed.refresh_from_db()
    assert feed.consecutive_errors == 0 and not feed.last_error


@pytest.mark.parametrize("body, header", [
    ('<?xml version="1.0" encoding="iso-8859-1"?>' + rss([rss_item("https://n.example/1", "Café crème")])[38:], "text/xml"),
    (rss([rss_item("https://n.example/1", "Café crème")]), "text/xml; charset=iso-8859-1"),
])
def test_wrong_or_missing_charset_still_reads_the_titles(local_server, body, header):
    raw = body.encode("latin-1") if "iso-8859-1\"?>" in body else body.encode("utf-8")
    feed = create_feed(local_server.route("/feed.xml", raw, content_type=header), "Test")
    poll_feed(feed.pk, config=CONFIG)
    assert Article.objects.get().title in {"Café crème"}


def test_host_resolving_to_loopback_is_refused_unless_allow_listed(local_server):
    local_server.route("/feed.xml", GOOD, content_type="application/rss+xml")
    feed = create_feed(f"http://localhost:{local_server.port}/feed.xml", "Sneaky")
    poll_feed(feed.pk, config=CONFIG)
    feed.refresh_from_db()
    assert "localhost" in feed.last_error and "NEWSSTAND_ALLOWED_FETCH_HOSTS" in feed.last_error
    assert not local_server.requests and not Article.objects.exists()

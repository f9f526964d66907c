"""Feed autodiscovery from HTML pages, and the page-or-feed sniffing helper."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from newsstand.ingest.discovery import COMMON_FEED_PATHS, FeedLink, discover_feed_links, looks_like_html

PAGE_URL = "https://news.example.com/section/world/"

DECLARING_PAGE = """<!DOCTYPE html>
<HTML><HEAD>
  <META CHARSET="utf-8">
  <title>World news</title>
  <LINK REL="Alternate" TYPE="Application/RSS+XML" TITLE="World  news (RSS)" HREF="feed.rss">
  <link rel="alternate" type="application/atom+xml" title="World news (Atom)" href="/atom.xml">
  <link rel="alternate feed" type="application/feed+json; charset=utf-8" title="JSON" href="//cdn.example.com/w.json">
  <link rel="alternate" type="application/rss+xml" title="Duplicate" href="https://news.example.com/section/world/feed.rss#top">
  <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">
  <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
  <link rel="stylesheet" type="text/css" href="/site.css">
  <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</HEAD>
<body>
  <a href="/comments/feed/">Comments feed</a>
  <a href="/about">About us</a>
  <a href="/science/anatomy-of-a-storm">Anatomy of a storm</a>
  <a href="/sitemap.xml">Sitemap</a>
</body></HTML>
"""


def test_declared_feeds_in_document_order_absolute_and_deduped():
    links = discover_feed_links(DECLARING_PAGE, PAGE_URL)
    assert links[:3] == [
        FeedLink("https://news.example.com/section/world/feed.rss", "World news (RSS)", "application/rss+xml"),
        FeedLink("https://news.example.com/atom.xml", "World news (Atom)", "application/atom+xml"),
        FeedLink("https://cdn.example.com/w.json", "JSON", "application/feed+json"),
    ]
    # Then the <a> that looks like a feed; the duplicate, the WordPress REST API link, the
    # stylesheet, the translation, javascript: and the sitemap are all left out.
    assert links[3:] == [FeedLink("https://news.example.com/comments/feed/", "Comments feed", "")]


def test_bytes_input_and_base_href():
    page = b"""<html><head><base href="https://static.example.org/blog/">
    <link rel="alternate" type="application/rss+xml" title="Caf\xc3\xa9" href="rss.xml"></head></html>"""
    assert discover_feed_links(page, PAGE_URL) == [
        FeedLink("https://static.example.org/blog/rss.xml", "Café", "application/rss+xml")
    ]


def test_declared_charset_is_honoured_for_titles():
    page = '<meta charset="iso-8859-1"><link rel="alternate" type="application/rss+xml" title="Café" href="/f">'
    assert discover_feed_links(page.encode("latin-1"), PAGE_URL)[0].title == "Café"


def test_page_with_no_declared_feed_but_a_feed_anchor():
    page = """<html><body><nav><a href="/">Home</a> <a href="/feed">RSS <b>feed</b></a>
    <a href="https://feeds.feedburner.com/example">Feedburner</a>
    <a href="/blog/index.xml" title="All posts"></a> <a href="/contact">Contact</a></nav></body></html>"""
    assert discover_feed_links(page, PAGE_URL) == [
        FeedLink("https://news.example.com/feed", "RSS feed", ""),
        FeedLink("https://feeds.feedburner.com/example", "Feedburner", ""),
        FeedLink("https://news.example.com/blog/index.xml", "All posts", ""),
    ]


def test_garbage_html_does_not_crash():
    for page in ["", "<<<>>>", "<a href=", "<link rel=alternate type=application/rss+xml href", "\x00\xff<![if x]>",
                 "<a href='/rss'>unclosed", '<link rel="alternate" type="application/atom+xml" href="http://[::1">']:
        result = discover_feed_links(page, PAGE_URL)
        assert isinstance(result, list)
    assert discover_feed_links("<a href='/rss'>unclosed", PAGE_URL) == [
        FeedLink("https://news.example.com/rss", "unclosed", "")
    ]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500))
def test_arbitrary_text_never_crashes(page):
    for link in discover_feed_links(page, PAGE_URL):
        assert link.url.startswith(("http://", "https://"))


def test_common_feed_paths():
    assert COMMON_FEED_PATHS[0] == "/feed"
    assert "/feed.json" in COMMON_FEED_PATHS and "/?feed=rss2" in COMMON_FEED_PATHS
    assert all(path.startswith("/") for path in COMMON_FEED_PATHS)


def test_looks_like_html():
    assert looks_like_html(DECLARING_PAGE.encode(), "text/html")
    assert looks_like_html(b"\xef\xbb\xbf\n<!-- hi --><!doctype html><p>x", "")
    assert looks_like_html(b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">', "")
    assert looks_like_html(b"Just some words", "text/html")  # nothing to go on but the label
    # Feeds are feeds whatever the server calls them.
    assert not looks_like_html(b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>', "text/html")
    assert not looks_like_html(b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "text/html")
    assert not looks_like_html(b"<?xml version='1.0'?><!-- c --><rdf:RDF/>", "text/html")
    assert not looks_like_html(b'{"version": "https://jsonfeed.org/version/1.1"}', "text/html")
    assert not looks_like_html(b"", "application/rss+xml")

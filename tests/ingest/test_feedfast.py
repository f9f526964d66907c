"""The lxml fast path (feedfast) against feedparser's path, differentially.

Whenever parse_fast returns a ParsedFeed it must equal what feedparse._parse_xml_feed gives
for the same bytes: over both public corpora, the golden fixtures, the demo site's feeds,
realistic generated feeds, and arbitrary bytes (hypothesis).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsstand.ingest import feedparse
from newsstand.ingest.feedfast import parse_fast
from newsstand.ingest.feedparse import FeedParseError, parse_feed

from .test_feed_datasets import FEEDPARSER, GOFEED, read_index, read_tar

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def split_media_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    found = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.IGNORECASE)
    return media_type.strip().lower(), (found.group(1) if found else None)


def compare(content: bytes, url: str, header: str = "") -> str:
    """'fast' (equal), 'slow' (fast path declined), or a description of a difference."""
    media_type, charset = split_media_type(header)
    fast = parse_fast(content, url, media_type, charset)
    if fast is None:
        return "slow"
    try:
        slow = feedparse._parse_xml_feed(content, url, media_type, charset)
    except FeedParseError as error:
        return f"feedparser raised {error.message!r} where the fast path parsed"
    if fast == slow:
        return "fast"
    return f"differs:\nfast={fast}\nslow={slow}"


def run_all(items) -> tuple[int, list[str]]:
    fast, failures = 0, []
    for name, content, url, header in items:
        outcome = compare(content, url, header)
        fast += outcome == "fast"
        if outcome not in ("fast", "slow"):
            failures.append(f"{name}: {outcome}")
    return fast, failures


# ---------------------------------------------------------------- realistic feeds

def realistic_rss(n: int = 20, *, relative: bool = False) -> bytes:
    start = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
    items = []
    for i in range(n):
        when = (start - timedelta(hours=3 * i)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        link = f"/2024/story-{i}.html" if relative else f"https://news.example.com/2024/story-{i}.html"
        items.append(
            f"<item><title>Story {i}: caf\u00e9 &amp; \u201cquotes\u201d</title>\n<link>{link}</link>\n"
            f'<guid isPermaLink="false">urn:story:{i}</guid><pubDate>{when}</pubDate>\n'
            f"<dc:creator>Jane Doe</dc:creator><dc:creator>R\u00e9mi</dc:creator>"
            f"<category>World</category><category domain=\"x\">Politics</category>\n"
            f"<description>&lt;p&gt;Lead {i} with &lt;a href=\"/rel/{i}\"&gt;a link&lt;/a&gt;.&lt;/p&gt;</description>\n"
            f"<content:encoded><![CDATA[<p>Full text {i}.</p><p><img src=\"/img/{i}.jpg\" alt=\"x\"><br>"
            f" More <b>bold</b> and <a href='https://example.org/x?a=1&amp;b=2'>link</a>.</p>]]></content:encoded>\n"
            f'<media:thumbnail url="https://img.example.com/thumb/{i}.jpg" width="150" height="100"/>\n'
            f'<enclosure url="https://img.example.com/big/{i}.jpg" length="12345" type="image/jpeg"/>\n'
            f"<comments>https://news.example.com/c/{i}</comments></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        "<channel><title>Example News</title><link>https://news.example.com/</link>"
        '<atom:link href="https://news.example.com/feed" rel="self" type="application/rss+xml"/>'
        "<description>All the news</description><language>en-us</language>"
        "<lastBuildDate>Fri, 01 Mar 2024 08:00:00 +0000</lastBuildDate><generator>gen 1.0</generator>"
        "<ttl>30</ttl><image><url>https://news.example.com/logo.png</url><title>Example News</title>"
        "<link>https://news.example.com/</link><width>88</width><height>31</height></image>\n"
        + "".join(items) + "</channel></rss>"
    ).encode()


def realistic_atom(n: int = 20) -> bytes:
    start = datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
    entries = []
    for i in range(n):
        when = (start - timedelta(hours=3 * i)).isoformat()
        entries.append(
            f'<entry><title type="html">Post {i} &amp;amp; &lt;em&gt;more&lt;/em&gt;</title>'
            f'<link rel="alternate" type="text/html" href="/posts/{i}"/>'
            f'<link rel="enclosure" type="image/png" href="https://img.example.com/{i}.png"/>'
            f"<id>tag:example.com,2024:{i}</id><updated>{when}</updated><published>{when}</published>"
            f"<author><name>Ann</name><email>ann@example.com</email><uri>/ann</uri></author>"
            f'<category term="tech" label="Tech"/><summary>Plain summary {i} &lt; 3</summary>'
            f'<content type="html">&lt;p&gt;Body {i} &lt;img src="pic{i}.jpg"&gt;&lt;/p&gt;</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en_GB" '
        'xml:base="https://blog.example.com/"><title>Blog</title><subtitle>Sub</subtitle>'
        '<link rel="self" href="https://blog.example.com/atom.xml"/><link href="https://blog.example.com/"/>'
        "<id>https://blog.example.com/</id><updated>2024-03-01T08:00:00Z</updated>"
        '<generator uri="https://gen.example" version="2">Gen</generator>'
        + "".join(entries) + "</feed>"
    ).encode()


def demo_feeds() -> list[tuple[str, bytes, str]]:
    from newsstand.demo import site

    out = []
    for feed in site.demo_feeds():
        out.append((f"demo rss {feed.path}", site.render_rss(feed, "https://demo.example"), "application/rss+xml"))
        out.append((f"demo atom {feed.path}", site.render_atom(feed, "https://demo.example"), "application/atom+xml"))
    return out


def test_realistic_and_demo_feeds_take_the_fast_path_identically():
    items = [
        ("rss20", realistic_rss(), "https://news.example.com/feed", ""),
        ("rss20 relative", realistic_rss(relative=True), "https://news.example.com/feeds/x.xml", "application/rss+xml"),
        ("rss20 text/xml utf-8", realistic_rss(3), "https://news.example.com/feed", "text/xml; charset=utf-8"),
        ("atom10", realistic_atom(), "https://blog.example.com/atom.xml", "application/atom+xml"),
    ]
    items += [(name, content, "https://demo.example/feed", header) for name, content, header in demo_feeds()]
    fast, failures = run_all(items)
    assert failures == []
    assert fast == len(items), f"only {fast}/{len(items)} took the fast path"
    # and parse_feed really returns the fast result
    feed = parse_feed(realistic_rss(), "https://news.example.com/feed")
    assert feed.format == "rss20" and len(feed.entries) == 20 and feed.entries[0].image_url


def test_fixtures():
    items = [(p.name, p.read_bytes(), "https://www.example.com/feeds/main.xml", "")
             for p in sorted(FIXTURES.iterdir()) if not p.name.endswith(".json")]
    fast, failures = run_all(items)
    assert failures == []
    print(f"fixtures: {fast}/{len(items)} fast")
    assert fast >= 2  # rss20.xml and atom10.xml at least


def test_feedparser_corpus():
    index = {row["path"]: row for row in read_index(FEEDPARSER)}
    files = read_tar(FEEDPARSER / "feedparser-test-feeds.tar.gz")
    items = []
    for name, content in sorted(files.items()):
        headers = {k.lower(): v for k, v in (index.get(name, {}).get("http_headers") or {}).items()}
        url = headers.get("content-location", "http://example.com/feed.xml")
        items.append((name, content, url, headers.get("content-type", "")))
    fast, failures = run_all(items)
    print(f"feedparser corpus: {fast}/{len(items)} took the fast path")
    assert failures == [], "\n".join(failures[:5])
    assert fast >= FEEDPARSER_FLOOR, fast


def test_gofeed_testdata():
    files = read_tar(GOFEED / "gofeed-testdata.tar.gz")
    items = [(row["input"], files[row["input"]], "http://example.com/feed", "") for row in read_index(GOFEED)]
    fast, failures = run_all(items)
    print(f"gofeed testdata: {fast}/{len(items)} took the fast path")
    assert failures == [], "\n".join(failures[:5])
    assert fast >= GOFEED_FLOOR, fast


FEEDPARSER_FLOOR = 11  # measured: 11 of 2,107 (the corpus is mostly edge cases)
GOFEED_FLOOR = 2  # measured: 2 of 552


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes(content):
    outcome = compare(content, "https://example.com/feed.xml")
    assert outcome in ("fast", "slow"), outcome


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.text(max_size=40), text=st.text(max_size=60),
    link=st.sampled_from(["/a", "https://x.example/b", "", "  /c?a=1&amp;b=2 ", "javascript:x", "urn:x"]),
    permalink=st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"', ' isPermaLink="True"']),
    order=st.permutations(["title", "link", "guid", "description", "content"]),
)
def test_generated_rss_items(title, text, link, permalink, order):
    from xml.sax.saxutils import escape

    parts = {
        "title": f"<title>{escape(title)}</title>", "link": f"<link>{escape(link)}</link>",
        "guid": f"<guid{permalink}>{escape(link)}</guid>", "description": f"<description>{escape(text)}</description>",
        "content": f"<content:encoded>{escape(text)}</content:encoded>",
    }
    doc = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
           f"<channel><title>{escape(title)}</title><link>{escape(link)}</link><item>"
           + "".join(parts[k] for k in order) + "</item></channel></rss>")
    try:
        content = doc.encode("utf-8")
    except UnicodeEncodeError:
        return
    outcome = compare(content, "https://example.com/feed.xml")
    assert outcome in ("fast", "slow"), outcome


PARAGRAPH_PIECES = ["<p>", "</p>", "<em>", "</em>", "<b>", "</b>", "<br>", " ", "\n", "&amp;", "&quot;",
                    "&#39;", "&nbsp;", "'", '"', ">", "&", "<a href=\"/x\">", "</a>", "<P>", "</P>"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(PARAGRAPH_PIECES), st.text(max_size=8)), max_size=30).map("".join))
def test_feedparser_gives_plain_paragraphs_back_unchanged(html):
    """What lets feedfast skip feedparser's relative-URI pass on plain paragraphs."""
    from feedparser.urls import resolve_relative_uris

    from newsstand.ingest.sanitize import plain_paragraphs

    if plain_paragraphs(html) and "<br" not in html:
        assert resolve_relative_uris(html, "http://example.com/a/", "utf-8", "text/html") == html

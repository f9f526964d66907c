"""parse_feed: every format into one ParsedFeed, and plain-words errors for everything else."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsstand.ingest.feedparse import FeedParseError, ParsedEntry, ParsedFeed, parse_feed, plain_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
FEED_URL = "https://www.example.com/feeds/main.xml"
TAG_SHAPE = re.compile(r"<[A-Za-z/!?][^<>]*>")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse_fixture(name: str, **kwargs) -> ParsedFeed:
    return parse_feed(fixture(name), FEED_URL, **kwargs)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def rss_with_item(item_xml: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://www.example.com/</link><item>{item_xml}</item></channel></rss>"
    ).encode()


# ---------------------------------------------------------------- golden pairs


def as_jsonable(feed: ParsedFeed) -> dict:
    def convert(value):
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, (tuple, list)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return convert(dataclasses.asdict(feed))


GOLDEN = sorted(p.name for p in FIXTURES.iterdir() if (FIXTURES / f"{p.name}.expected.json").exists())


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_pairs(name):
    # Regenerate after a deliberate change with NEWSSTAND_UPDATE_GOLDEN=1, then read the diff.
    expected_path = FIXTURES / f"{name}.expected.json"
    got = as_jsonable(parse_fixture(name))
    if os.environ.get("NEWSSTAND_UPDATE_GOLDEN"):
        expected_path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(expected_path.read_text(encoding="utf-8"))


def test_golden_pairs_exist():
    assert {"rss20.xml", "rss10.rdf", "rss091.xml", "atom10.xml", "jsonfeed11.json", "jsonfeed10.json"} <= set(GOLDEN)


# ---------------------------------------------------------------- RSS 2.0


def test_rss20_feed_fields_and_relative_links():
    feed = parse_fixture("rss20.xml")
    assert feed.format == "rss20"
    assert feed.title == "The Daily Example & Co."
    assert feed.home_url == "https://www.example.com/"
    assert feed.icon_url == "https://www.example.com/static/logo.png"
    assert feed.language == "en-gb"
    assert feed.warnings == ()
    first = feed.entries[0]
    assert first.link == "https://www.example.com/news/2024/bridge"
    assert first.guid == "daily-example-1001"
    assert first.author == "Ann Reporter"
    assert first.tags == ("Local", "Transport")
    assert first.published == utc(2024, 1, 2, 8, 30)


def test_rss20_entities_decoded_and_markup_removed_from_title():
    first = parse_fixture("rss20.xml").entries[0]
    assert first.title == "Council approves new bridge \u2014 at last"


def test_rss20_summary_and_content_stay_raw_html():
    first = parse_fixture("rss20.xml").entries[0]
    assert first.summary_html == '<p>The vote was <a href="https://www.example.com/votes/12">close</a>.</p>'
    assert first.content_html.startswith("<p>The vote was close. <img")
    assert "Work starts in spring." in first.content_html


def test_xss_payload_in_title_leaves_no_markup():
    second = parse_fixture("rss20.xml").entries[1]
    assert second.title == "Hello"
    assert "<script" not in second.title


@pytest.mark.parametrize(
    "title_xml",
    [
        "<title>&lt;script&gt;alert(1)&lt;/script&gt;Hello</title>",
        "<title><![CDATA[<script>alert(1)</script>Hello]]></title>",
        "<title>&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;Hello</title>",  # double-escaped
        '<title><![CDATA[<img src=x onerror="alert(1)">Hello]]></title>',
    ],
)
def test_xss_variants_in_rss_titles(title_xml):
    entry = parse_feed(rss_with_item(title_xml), FEED_URL).entries[0]
    assert not TAG_SHAPE.search(entry.title)
    assert entry.title.endswith("Hello")
    assert "onerror" not in entry.title


def test_item_without_link_or_guid_or_date_is_still_returned():
    entry = parse_fixture("rss20.xml").entries[2]
    assert (entry.link, entry.guid, entry.published, entry.updated) == (None, None, None, None)
    assert entry.title == "A headline with no link and no date"


def test_future_date_is_returned_as_given():
    entry = parse_fixture("rss20.xml").entries[3]
    assert entry.published == utc(2099, 1, 1)


def test_images_from_enclosure_and_media_thumbnail_are_absolute():
    entries = parse_fixture("rss20.xml").entries
    assert entries[0].image_url == "https://www.example.com/img/bridge-lead.jpg"  # image enclosure
    assert entries[1].image_url == "https://www.example.com/feeds/thumbs/hello.jpg"  # media:thumbnail
    assert entries[3].image_url is None  # an audio enclosure is not an image


def test_media_content_image_and_untyped_enclosure():
    media = rss_with_item(
        '<title>m</title><media:content xmlns:media="http://search.yahoo.com/mrss/" '
        'url="https://cdn.example.com/big.jpg" medium="image"/>'
    )
    assert parse_feed(media, FEED_URL).entries[0].image_url == "https://cdn.example.com/big.jpg"
    untyped = rss_with_item('<title>e</title><enclosure url="/pics/a.PNG" length="1"/>')
    assert parse_feed(untyped, FEED_URL).entries[0].image_url == "https://www.example.com/pics/a.PNG"


def test_non_http_links_are_dropped():
    entry = parse_feed(rss_with_item("<title>x</title><link>javascript:alert(1)</link>"), FEED_URL).entries[0]
    assert entry.link is None


def test_dates_are_utc_aware_and_unparseable_dates_are_none():
    entry = parse_feed(rss_with_item("<title>x</title><pubDate>Mon, 01 Jul 2024 12:00:00 -0700</pubDate>"), FEED_URL)
    assert entry.entries[0].published == utc(2024, 7, 1, 19)
    assert entry.entries[0].published.tzinfo is not None
    garbled = parse_feed(rss_with_item("<title>x</title><pubDate>sometime soon</pubDate>"), FEED_URL)
    assert garbled.entries[0].published is None


# ---------------------------------------------------------------- RSS 1.0, 0.91, Atom


def test_rss10_rdf():
    feed = parse_fixture("rss10.rdf")
    assert feed.format == "rss10"
    assert feed.language == "de"
    first = feed.entries[0]
    assert first.title == "Erster Artikel: Grüße aus Köln"
    assert first.author == "Karl Beispiel"
    assert first.published == utc(2024, 2, 1, 11)  # dc:date counts as the publication date
    assert first.tags == ("Politik",)
    assert feed.entries[1].published is None


def test_rss091():
    feed = parse_fixture("rss091.xml")
    assert feed.format.startswith("rss091")
    assert feed.entries[0].title == 'Y2K "ready" & waiting'
    assert feed.entries[0].link == "http://old.example.net/y2k.html"


def test_atom10_xml_base_and_fields():
    feed = parse_fixture("atom10.xml")
    assert feed.format == "atom10"
    assert feed.title == "Notes & Queries"
    assert feed.home_url == "https://atom.example.org/blog/"
    assert feed.icon_url == "https://atom.example.org/favicon.png"
    assert feed.language == "en"
    first, second = feed.entries
    assert first.link == "https://atom.example.org/blog/2024/03/truce"
    assert first.title == "Tabs & spaces: a truce"
    assert first.author == "Grace Writer, Alan Editor"
    assert first.published == utc(2024, 3, 4, 23)
    assert first.updated == utc(2024, 3, 5, 8)
    assert first.summary_html == "<p>Why we stopped arguing &lt;really&gt;.</p>"  # type="text" escaped
    assert 'src="https://cdn.example.org/posts/pic.png"' in first.content_html  # content's own xml:base
    assert first.tags == ("style", "opinion")
    assert second.link == "https://elsewhere.example.com/x/only-updated"  # entry-level xml:base
    assert second.published == second.updated == utc(2024, 3, 1)


def test_atom_html_title_with_script_is_plain_text():
    doc = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>'
        b'<title type="html">&lt;script&gt;alert(1)&lt;/script&gt;Hello &amp;amp; bye</title>'
        b"<id>x</id></entry></feed>"
    )
    assert parse_feed(doc, FEED_URL).entries[0].title == "Hello & bye"


# ---------------------------------------------------------------- JSON Feed


def test_json_feed_11():
    feed = parse_fixture("jsonfeed11.json", media_type="application/feed+json")
    assert feed.format == "json11"
    assert feed.title == "JSON & Friends"
    assert feed.home_url == "https://json.example.com/"
    assert feed.icon_url == "https://www.example.com/icon-512.png"  # relative, resolved
    assert feed.language == "en-US"
    first, second, third = feed.entries
    assert first.title == "Second post"
    assert first.author == "Dana Json, Eli Feed"
    assert first.published == utc(2024, 4, 2, 8)
    assert first.updated == utc(2024, 4, 3, 9)
    assert first.summary_html == "<p>A short &lt;summary&gt; in plain text</p>"
    assert first.content_html == "<p>Hello, <em>world</em>.</p>"
    assert first.image_url == "https://www.example.com/images/second.png"
    assert first.tags == ("json", "feeds")
    assert second.guid == "1"  # a number id becomes a string
    assert second.link == "https://www.example.com/feeds/2024/first"
    assert second.content_html == "<p>First line.</p><p>Second paragraph &amp; more.</p>"
    assert second.image_url == "https://json.example.com/banner.jpg"
    assert third.link == "https://other.example.net/story"  # external_url when url is absent
    assert third.image_url == "https://json.example.com/a.png"  # image attachment
    assert third.published is None  # "not a date"


def test_json_feed_10():
    feed = parse_fixture("jsonfeed10.json")
    assert feed.format == "json10"
    assert feed.entries[0].author == "Item Author"
    assert feed.entries[0].published == utc(2017, 5, 17, 15, 2, 12)


def test_json_detected_by_media_type_or_leading_brace():
    body = b'\xef\xbb\xbf \n {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}'
    assert parse_feed(body, FEED_URL).format == "json11"
    assert parse_feed(body, FEED_URL, media_type="application/json; charset=utf-8").entries == ()


def test_json_that_is_not_a_json_feed():
    with pytest.raises(FeedParseError) as caught:
        parse_feed(b'{"hello": "world"}', FEED_URL, media_type="application/json")
    assert caught.value.message == "The JSON is not a JSON Feed (no 'version' naming jsonfeed.org)"
    with pytest.raises(FeedParseError, match="not a JSON Feed"):
        parse_feed(b"[1, 2, 3]", FEED_URL)


def test_invalid_json_says_where():
    with pytest.raises(FeedParseError, match=r"not valid JSON: .* at line 1, column \d+"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", ', FEED_URL)


def test_bare_json_feed_version_is_accepted_with_a_warning():
    feed = parse_feed(b'{"version": "1.1", "title": "t", "items": [{"id": "a", "title": "x"}]}', FEED_URL)
    assert feed.format == "json11"
    assert len(feed.entries) == 1
    assert "jsonfeed.org" in feed.warnings[0]


def test_json_feed_odd_shapes_do_not_crash():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": 5,
            "items": [1, {"id": True, "title": None, "tags": [1, "ok"], "authors": "nobody", "url": 7}],
        }
    ).encode()
    feed = parse_feed(body, FEED_URL)
    assert feed.title == ""
    assert len(feed.entries) == 1 and feed.entries[0].tags == ("ok",)
    assert feed.entries[0].guid is None
    assert any("Item 1" in w for w in feed.warnings)


# ---------------------------------------------------------------- not feeds, broken feeds


def test_html_page_served_as_feed_is_an_error():
    for media_type in ("", "text/html", "application/rss+xml"):
        with pytest.raises(FeedParseError) as caught:
            parse_fixture("html_page.html", media_type=media_type)
        assert caught.value.message == "This is an HTML page, not a feed (it has no RSS, Atom or JSON Feed content)"


@pytest.mark.parametrize("body", [b"", b"   \n\t ", b"\xef\xbb\xbf  "])
def test_empty_response(body):
    with pytest.raises(FeedParseError, match="^The response is empty$"):
        parse_feed(body, FEED_URL)


def test_plain_text_is_neither_xml_nor_json():
    with pytest.raises(FeedParseError, match="neither XML nor JSON"):
        parse_feed(b"Service temporarily unavailable", FEED_URL)


def test_truncated_feed_keeps_what_it_can_with_a_warning():
    feed = parse_fixture("truncated_recoverable.xml")
    assert [e.title for e in feed.entries][:2] == ["First complete item", "Second complete item"]
    assert feed.entries[1].link == "https://cut.example.com/2"
    assert len(feed.warnings) == 1 and "not well-formed XML" in feed.warnings[0]


def test_broken_xml_with_nothing_recoverable_is_an_error_in_plain_words():
    with pytest.raises(FeedParseError) as caught:
        parse_fixture("broken_no_channel.xml")
    message = caught.value.message
    assert message.startswith("The feed is not well-formed XML: ")
    assert re.search(r"at line \d+, column \d+, and no entries could be recovered$", message)


def test_xml_that_is_not_a_feed():
    with pytest.raises(FeedParseError, match="XML but not a feed"):
        parse_feed(b"<note><to>Tove</to><body>Hi</body></note>", FEED_URL)


def test_empty_feed_is_not_an_error():
    feed = parse_fixture("empty_channel.xml")
    assert (feed.format, feed.title, feed.entries, feed.warnings) == ("rss20", "Nothing yet", (), ())


def test_latin1_bytes_declared_utf8_do_not_crash():
    feed = parse_fixture("latin1_declared_utf8.xml")
    assert feed.title == "Café del Mar"
    assert feed.entries[0].title == "Señor Müller à la plage"
    assert "character encoding" in feed.warnings[0]


def test_charset_from_caller_is_used():
    body = '<rss version="2.0"><channel><title>Smörgåsbord</title></channel></rss>'.encode("latin-1")
    assert parse_feed(body, FEED_URL, media_type="text/xml", charset="iso-8859-1").title == "Smörgåsbord"
    assert parse_feed(body, FEED_URL, media_type="text/xml; charset=ISO-8859-1").title == "Smörgåsbord"


def test_text_xml_without_charset_is_read_by_its_declaration():
    body = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Zoë</title></channel></rss>'
    feed = parse_feed(body.encode(), FEED_URL, media_type="text/xml")
    assert feed.title == "Zoë" and feed.warnings == ()


def test_content_is_never_treated_as_a_path_or_url(tmp_path):
    # feedparser opens a str/bytes argument as a URL or file name; parse_feed must never let it.
    real_feed = tmp_path / "feed.xml"
    real_feed.write_bytes(fixture("rss20.xml"))
    for body in (str(real_feed).encode(), b"http://127.0.0.1:9/feed.xml", b"file:///etc/passwd"):
        with pytest.raises(FeedParseError, match="neither XML nor JSON"):
            parse_feed(body, FEED_URL)


def test_parsed_types_are_frozen():
    entry = parse_fixture("rss20.xml").entries[0]
    assert isinstance(entry, ParsedEntry)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.title = "changed"  # type: ignore[misc]


def test_plain_text_helper():
    assert plain_text("<p>a</p><p>b</p>", is_html=True) == "a b"
    assert plain_text("A &amp; B", is_html=True) == "A & B"
    assert plain_text("AT&amp;T literally") == "AT&amp;T literally"  # plain text is not decoded twice
    assert plain_text("x < y and y > z") == "x < y and y > z"
    assert plain_text(None) == ""


# ---------------------------------------------------------------- properties

FEEDISH_TOKENS = [
    b"<?xml version='1.0'?>", b"<rss version='2.0'>", b"<channel>", b"</channel>", b"<item>", b"</item>",
    b"<title>", b"</title>", b"<link>", b"</link>", b"&amp;", b"&bogus;", b"<![CDATA[", b"]]>",
    b"<feed xmlns='http://www.w3.org/2005/Atom'>", b"<entry>", b"<content type='html'>", b"{", b"}",
    b'"version": "https://jsonfeed.org/version/1.1"', b'"items": [', b"]", b",", b"\xff\xfe", b"\xef\xbb\xbf",
    b"<!DOCTYPE x [<!ENTITY e 'v'>]>", b"<html>", b"\x00", b"\xe9", b"http://", b"<pubDate>", b"</pubDate>",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), st.lists(st.sampled_from(FEEDISH_TOKENS), max_size=40).map(b"".join)))
def test_arbitrary_bytes_only_ever_raise_feed_parse_error(body):
    try:
        feed = parse_feed(body, FEED_URL)
    except FeedParseError as error:
        assert error.message
    else:
        assert isinstance(feed, ParsedFeed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300), st.sampled_from(["title", "description", "link", "pubDate", "guid", "author"]))
def test_arbitrary_text_in_an_rss_shell(text, element):
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Shell</title>'
        f"<item><{element}>{text}</{element}></item></channel></rss>"
    ).encode("utf-8", "surrogatepass")
    try:
        feed = parse_feed(body, FEED_URL)
    except FeedParseError as error:
        assert error.message
        return
    for entry in feed.entries:
        assert not TAG_SHAPE.search(entry.title)
        assert not TAG_SHAPE.search(entry.author)
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.tzinfo is not None


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4),
                    max_leaves=20))
def test_arbitrary_json_items(item):
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item]}).encode()
    try:
        parse_feed(body, FEED_URL)
    except FeedParseError as error:
        assert error.message

"""What machines read: RSS/Atom out (with conditional GET), sitemaps, robots.txt,
OpenGraph/Twitter cards and JSON-LD; and hostile titles, bylines and text staying inert
in every one of them as well as on the pages."""

import json
import re
from html.parser import HTMLParser
from xml.etree import ElementTree

import pytest

from tests.web import builders as b

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def world():
    paper = b.source("Daily Example")
    items = [b.article(paper, f"Harbour story {i}", minutes_ago=i * 10, byline="Sam Reporter",
                       text=f"The harbour reopened, report {i}.") for i in range(3)]
    b.tag("Harbours", items)
    return paper, items


def xml(client, url, content_type):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith(content_type)
    return response, ElementTree.fromstring(response.content)


@pytest.mark.parametrize("kind", ["latest", "source", "tag", "search"])
def test_rss_and_atom_feeds(client, world, kind):
    paper, items = world
    base = {"latest": "/feed", "source": f"/sources/{paper.pk}/feed", "tag": "/tags/harbours/feed",
            "search": "/search/feed"}[kind]
    query = "?q=harbour" if kind == "search" else ""
    _, rss = xml(client, f"{base}.rss{query}", "application/rss+xml")
    titles = [t.text for t in rss.iter("item") for t in t.iter("title")]
    assert titles == [a.title for a in items]
    link = rss.find("channel/item/link").text
    assert re.fullmatch(rf"http://testserver/articles/{items[0].pk}", link)
    _, atom = xml(client, f"{base}.atom{query}", "application/atom+xml")
    assert [e.find(f"{ATOM}title").text for e in atom.iter(f"{ATOM}entry")] == titles
    assert atom.find(f"{ATOM}entry/{ATOM}author/{ATOM}name").text == "Sam Reporter"
    if kind != "search":
        assert [c.get("term") for c in atom.find(f"{ATOM}entry").iter(f"{ATOM}category")] == ["Harbours"]


def test_feeds_answer_conditional_gets_with_304(client, world):
    first = client.get("/feed.rss")
    assert first["Last-Modified"] and first["ETag"]
    assert client.get("/feed.rss", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    assert client.get("/feed.rss", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    b.article(world[0], "A newer harbour story", minutes_ago=-5)
    assert client.get("/feed.rss", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_pages_answer_if_none_match_with_304(client, world):
    first = client.get(f"/articles/{world[1][0].pk}")
    assert client.get(f"/articles/{world[1][0].pk}", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


@pytest.mark.parametrize("url, status", [
    ("/sources/999999/feed.rss", 404), ("/tags/nope/feed.atom", 404), ("/search/feed.rss", 400),
    ("/search/feed.rss?q=x&from=bad", 400), ("/search/feed.atom?q=x&source=x", 400),
])
def test_feed_bad_input(client, world, url, status):
    assert client.get(url).status_code == status


def test_sitemaps_and_robots(client, world):
    paper, items = world
    story = b.story(items[:2])
    _, index = xml(client, "/sitemap.xml", "application/xml")
    sections = [loc.text for loc in index.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "http://testserver/sitemap-articles.xml" in sections
    _, articles = xml(client, "/sitemap-articles.xml", "application/xml")
    locs = [loc.text for loc in articles.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locs == [f"http://testserver/articles/{a.pk}" for a in items]
    for section, path in [("stories", f"/stories/{story.pk}"), ("sources", f"/sources/{paper.pk}"),
                          ("tags", "/tags/harbours"), ("home", "/")]:
        assert f"http://testserver{path}</loc>" in client.get(f"/sitemap-{section}.xml").content.decode()
    assert client.get("/sitemap-nope.xml").status_code == 404
    robots = client.get("/robots.txt")
    assert robots["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in robots.content.decode()
    assert "Disallow: /search" in robots.content.decode()


def test_opengraph_twitter_and_json_ld(client, world):
    item = world[1][0]
    item.image_url = "https://daily.example/harbour.jpg"
    item.save()
    html = client.get(f"/articles/{item.pk}").content.decode()
    assert f'<meta property="og:title" content="{item.title}">' in html
    assert '<meta property="og:type" content="article">' in html
    assert f'<meta property="og:url" content="{item.url}">' in html
    assert re.search(r'<meta property="og:image" content="http://testserver/img/[^"]+\?w=1200">', html)
    assert '<meta name="twitter:card" content="summary_large_image">' in html
    assert '<meta property="article:tag" content="Harbours">' in html
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert ld["@type"] == "NewsArticle" and ld["headline"] == item.title
    assert ld["author"] == [{"@type": "Person", "name": "Sam Reporter"}]
    assert ld["publisher"]["name"] == "Daily Example" and ld["keywords"] == ["Harbours"]
    assert ld["image"][0].startswith("http://testserver/img/")


# --- hostile content --------------------------------------------------------------------------
@pytest.fixture
def hostile(db):
    evil = b.HOSTILE
    src = b.source(f"Evil {evil}", attribution=f"Credit {evil}")
    item = b.article(src, f"Title {evil}", byline=f"By {evil}", text=f"Harbour text {evil} end.",
                     html="<p>Sanitized body.</p>")
    b.tag("Harbours", [item])
    story = b.story([item], headline=f"Story {evil}")
    b.retitle(item, [f"Old {evil}"])
    return item, story


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def assert_inert(html: str):
    """Parse the page as a browser would: the hostile markup must not have become elements
    or attributes; it must be visible as text."""
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert attrs.get("src") != "x", (tag, attrs)
        if tag == "script":
            assert attrs.get("type") == "application/ld+json" or attrs.get("src", "").startswith("/static/"), attrs
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_hostile_text_is_inert_on_every_page(client, hostile):
    item, story = hostile
    for url in ["/", f"/articles/{item.pk}", f"/sources/{item.source_id}", "/tags/harbours",
                f"/stories/{story.pk}", "/search?q=harbour"]:
        html = client.get(url).content.decode()
        assert client.get(url).status_code == 200
        assert_inert(html)


def test_hostile_text_is_inert_in_metadata(client, hostile):
    item, _ = hostile
    html = client.get(f"/articles/{item.pk}").content.decode()
    og = re.search(r'<meta property="og:title" content="([^"]*)">', html).group(1)
    assert og.startswith("Title &lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)")
    body = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "</" not in body and "<" not in body  # nothing in it can close or open an element
    ld = json.loads(body)
    assert ld["headline"] == item.title and ld["author"][0]["name"] == item.byline


def test_hostile_text_is_inert_in_feeds(client, hostile):
    item, _ = hostile
    for url in ["/feed.rss", "/feed.atom", f"/sources/{item.source_id}/feed.rss", "/search/feed.atom?q=harbour"]:
        response = client.get(url)
        raw = response.content.decode()
        assert "<script" not in raw and "<img" not in raw, url
        tree = ElementTree.fromstring(response.content)
        descriptions = [d.text for d in tree.iter("description")] + [s.text for s in tree.iter(f"{ATOM}summary")]
        item_descriptions = [d for d in descriptions if d and "Harbour text" in d]
        assert item_descriptions, url
        # A feed reader renders descriptions as HTML: after XML parsing they must still be escaped.
        for text in item_descriptions:
            assert "<" not in text and "&lt;script&gt;" in text, url

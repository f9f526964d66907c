"""Renders the demo corpus as a publisher's web site would: feeds in three formats (RSS 2.0,
Atom 1.0, JSON Feed 1.1) and one HTML page per article, with the usual boilerplate around
the story so extraction has real work to do. Pure functions: corpus in, bytes out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import format_datetime
from html import escape
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from newsstand.demo.corpus import ATTRIBUTION, LICENSE_NAME, LICENSE_URL, DemoArticle, load_corpus

SITE_NAME = "Wikinews"


@dataclass(frozen=True)
class DemoFeed:
    path: str
    title: str
    media_type: str
    articles: tuple[DemoArticle, ...]


def demo_feeds() -> tuple[DemoFeed, ...]:
    corpus = load_corpus()
    y2019 = tuple(a for a in corpus if a.published.year == 2019)
    h1_2020 = tuple(a for a in corpus if a.published.year == 2020 and a.published.month <= 6)
    later = tuple(a for a in corpus if (a.published.year, a.published.month) > (2020, 6))
    return (
        DemoFeed("/feeds/2019.rss", "Wikinews: 2019", "application/rss+xml", y2019),
        DemoFeed("/feeds/2020-h1.atom", "Wikinews: first half of 2020", "application/atom+xml", h1_2020),
        DemoFeed("/feeds/latest.json", "Wikinews: mid-2020 to 2021", "application/feed+json", later),
    )


def page_path(article: DemoArticle) -> str:
    # Slugs come percent-encoded from Wikinews already; keep their escapes as they are.
    return "/wiki/" + quote(article.slug, safe=",()'_-.!%")


def lead(article: DemoArticle) -> str:
    return article.paragraphs[0] if article.paragraphs else ""


def render_rss(feed: DemoFeed, base: str) -> bytes:
    items = "".join(
        f"<item><title>{xml_escape(a.title)}</title><link>{xml_escape(base + page_path(a))}</link>"
        f"<guid isPermaLink=\"false\">{xml_escape(a.original_url)}</guid>"
        f"<pubDate>{format_datetime(a.published)}</pubDate>"
        f"<description>{xml_escape(lead(a))}</description></item>"
        for a in reversed(feed.articles)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{xml_escape(feed.title)}</title><link>{xml_escape(base)}/</link>"
            f"<description>{xml_escape(ATTRIBUTION)}</description><language>en</language>"
            f"{items}</channel></rss>").encode()


def render_atom(feed: DemoFeed, base: str) -> bytes:
    entries = "".join(
        f"<entry><title>{xml_escape(a.title)}</title><link rel=\"alternate\" href=\"{xml_escape(base + page_path(a))}\"/>"
        f"<id>{xml_escape(a.original_url)}</id><updated>{a.published.isoformat()}</updated>"
        f"<published>{a.published.isoformat()}</published><author><name>Wikinews contributors</name></author>"
        f"<summary>{xml_escape(lead(a))}</summary></entry>"
        for a in reversed(feed.articles)
    )
    updated = feed.articles[-1].published.isoformat() if feed.articles else "2020-01-01T00:00:00+00:00"
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{xml_escape(feed.title)}</title><id>{xml_escape(base + feed.path)}</id>"
            f"<link rel=\"alternate\" href=\"{xml_escape(base)}/\"/><updated>{updated}</updated>"
            f"<rights>{xml_escape(ATTRIBUTION)}</rights>{entries}</feed>").encode()


def render_json_feed(feed: DemoFeed, base: str) -> bytes:
    return json.dumps({
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": base + "/",
        "feed_url": base + feed.path,
        "language": "en",
        "items": [
            {"id": a.original_url, "url": base + page_path(a), "title": a.title,
             "summary": lead(a), "date_published": a.published.isoformat(),
             "authors": [{"name": "Wikinews contributors"}]}
            for a in reversed(feed.articles)
        ],
    }).encode()


RENDERERS = {"application/rss+xml": render_rss, "application/atom+xml": render_atom,
             "application/feed+json": render_json_feed}


def render_page(article: DemoArticle, base: str) -> bytes:
    body = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    day = article.published.strftime("%A, %B %-d, %Y")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(article.title)} - {SITE_NAME}</title>
<link rel="canonical" href="{escape(article.original_url)}">
<meta property="og:title" content="{escape(article.title)}">
<meta property="og:site_name" content="{SITE_NAME}">
<meta property="og:url" content="{escape(article.original_url)}">
<meta property="article:published_time" content="{article.published.isoformat()}">
<meta name="author" content="Wikinews contributors">
<link rel="alternate" type="application/rss+xml" title="Wikinews 2019" href="{base}/feeds/2019.rss">
</head><body>
<header><nav><a href="/">Main Page</a> | <a href="/feeds/2019.rss">Feeds</a> | <a href="/about">About Wikinews</a></nav></header>
<main><article>
<h1>{escape(article.title)}</h1>
<p class="byline">By Wikinews contributors · <time datetime="{article.published.isoformat()}">{day}</time></p>
{body}
</article>
<section class="license"><p>{escape(ATTRIBUTION)}. Original: <a href="{escape(article.original_url)}">{escape(article.original_url)}</a>,
<a href="{LICENSE_URL}">{LICENSE_NAME}</a>.</p></section></main>
<aside><h2>Share this article</h2><ul><li><a href="#">Share on social media</a></li><li><a href="#">Email</a></li></ul></aside>
<footer><p>All text is available under the Creative Commons Attribution 2.5 License. Privacy policy · About · Disclaimers</p></footer>
</body></html>""".encode()


def render_home(base: str) -> bytes:
    links = "".join(f'<link rel="alternate" type="{f.media_type}" title="{escape(f.title)}" href="{base}{f.path}">'
                    for f in demo_feeds())
    items = "".join(f'<li><a href="{f.path}">{escape(f.title)}</a></li>' for f in demo_feeds())
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{SITE_NAME} (demo mirror)</title>"
            f"{links}</head><body><h1>{SITE_NAME} demo mirror</h1><ul>{items}</ul></body></html>").encode()

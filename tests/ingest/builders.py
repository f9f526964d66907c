"""Small builders for fixture feeds and article pages served by the local test server."""

from __future__ import annotations

from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from html import escape
from xml.sax.saxutils import escape as xml_escape

BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def rss_item(link: str | None, title: str, *, guid: str | None = None, published: datetime | None = BASE_TIME,
             description: str = "", content: str = "") -> str:
    parts = [f"<title>{xml_escape(title)}</title>"]
    if link:
        parts.append(f"<link>{xml_escape(link)}</link>")
    if guid:
        parts.append(f'<guid isPermaLink="false">{xml_escape(guid)}</guid>')
    if published:
        parts.append(f"<pubDate>{format_datetime(published)}</pubDate>")
    if description:
        parts.append(f"<description>{xml_escape(description)}</description>")
    if content:
        parts.append(f"<content:encoded><![CDATA[{content}]]></content:encoded>")
    return "<item>" + "".join(parts) + "</item>"


def rss(items: list[str], title: str = "Test News") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f"<title>{xml_escape(title)}</title><link>https://news.example/</link>"
            f"<description>test</description>{''.join(items)}</channel></rss>")


def paragraphs(topic: str, n: int = 5) -> list[str]:
    return [f"Paragraph {i} about {topic}: officials said on Monday that the {topic} plan would go ahead "
            f"after months of debate, and residents described what it would mean for them in detail."
            for i in range(1, n + 1)]


def article_page(title: str, body: list[str], *, canonical: str | None = None, byline: str = "Jane Reporter",
                 image: str | None = None, extra_head: str = "") -> str:
    head = f"<title>{escape(title)}</title>"
    if canonical:
        head += f'<link rel="canonical" href="{escape(canonical)}">'
    if image:
        head += f'<meta property="og:image" content="{escape(image)}">'
    paras = "".join(f"<p>{p}</p>" for p in body)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>{head}{extra_head}</head><body>"
            "<header><nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a></nav></header>"
            f"<main><article><h1>{escape(title)}</h1><p class=byline>By {escape(byline)}</p>"
            f"<time datetime='{(BASE_TIME - timedelta(hours=1)).isoformat()}'>Nov 20</time>{paras}</article></main>"
            "<footer><p>Copyright Test News. Privacy. Terms. Contact us.</p></footer></body></html>")

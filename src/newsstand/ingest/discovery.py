"""Feed autodiscovery: which feeds does an HTML page point to?

Declared feeds (<link rel="alternate" type="application/rss+xml" ...>) come first, in
document order; then <a href> links that merely look like feeds. Pure: no I/O.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit


@dataclass(frozen=True)
class FeedLink:
    url: str
    title: str
    media_type: str  # "application/rss+xml" | "application/atom+xml" | "application/feed+json" | ""


# The caller tries these, in order, when a page declares no feed at all.
COMMON_FEED_PATHS: tuple[str, ...] = (
    "/feed",
    "/rss",
    "/rss.xml",
    "/atom.xml",
    "/feed.xml",
    "/index.xml",
    "/feeds/posts/default",
    "/?feed=rss2",
    "/feed.json",
)

# RSS 1.0 is announced as RDF; it is still an RSS feed. Plain application/json is left
# out on purpose: WordPress announces its REST API that way, and that is not a feed.
_FEED_TYPES = {
    "application/rss+xml": "application/rss+xml",
    "application/rdf+xml": "application/rss+xml",
    "application/atom+xml": "application/atom+xml",
    "application/feed+json": "application/feed+json",
}
_FEEDISH_SEGMENTS = frozenset({"feed", "rss", "rss2", "atom", "feed.json", "feeds"})
_FEEDISH_SUFFIXES = (".rss", ".rdf", ".atom", ".xml")
_NOT_FEEDS = ("sitemap", "opensearch", "oembed", "wlwmanifest", "xmlrpc")


def discover_feed_links(html: bytes | str, page_url: str) -> list[FeedLink]:
    """Feeds the page declares, then <a> links that look like feeds; absolute and deduped."""
    text = html if isinstance(html, str) else _decode_page(html)
    collector = _LinkCollector(page_url)
    try:
        collector.feed(text)
        collector.close()
    except Exception:  # garbage HTML: keep whatever was found before the parser gave up
        pass
    seen: set[str] = set()
    found = []
    for link in collector.declared + collector.anchors:
        if link.url not in seen:
            seen.add(link.url)
            found.append(link)
    return found


def looks_like_html(content: bytes, media_type: str) -> bool:
    """True when the bytes are a web page rather than a feed.

    The content decides first, because servers often label feeds text/html and pages
    text/xml; the media type only breaks a tie when the content says nothing clear.
    """
    head = _decode_page(content[:4096]).lstrip("\ufeff \t\r\n").lower()
    head = _skip_prolog(head)
    if head.startswith(("<!doctype html", "<html", "<head", "<body", "<meta", "<title")):
        return True
    if head.startswith(("<rss", "<feed", "<rdf:", "<channel", "{")) or "<rss" in head[:512]:
        return False
    return media_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml")


def _skip_prolog(text: str) -> str:
    """Drop an XML declaration, comments and processing instructions from the start."""
    while True:
        text = text.lstrip()
        if text.startswith("<?"):
            closer = "?>"
        elif text.startswith("<!--"):
            closer = "-->"
        else:
            return text
        end = text.find(closer)
        if end < 0:
            return ""
        text = text[end + len(closer) :]


def _decode_page(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16", "replace")
    declared = re.search(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", content[:2048])
    codec = "utf-8"
    if declared:
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            pass
    if codec.startswith("utf-16"):  # a page cannot honestly declare this in ASCII bytes
        codec = "utf-8"
    return content.decode(codec, "replace")


def _absolute(href: str, base: str) -> str | None:
    href = re.sub(r"[\t\r\n]", "", href).strip()
    if not href:
        return None
    try:
        parts = urlsplit(urljoin(base, href))
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit(parts._replace(fragment=""))


def _looks_like_feed_url(url: str) -> bool:
    parts = urlsplit(url)
    path = parts.path.lower().rstrip("/")
    if any(word in path for word in _NOT_FEEDS):
        return False
    last = path.rsplit("/", 1)[-1]
    query = parts.query.lower()
    return (
        last in _FEEDISH_SEGMENTS
        or last.endswith(_FEEDISH_SUFFIXES)
        or last.startswith(("atom.", "rss.", "feed."))
        or bool(re.search(r"(^|&)(feed|format)=(rss|rss2|atom|json)", query))
        or (parts.hostname or "").startswith("feeds.")
    )


class _LinkCollector(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self.declared: list[FeedLink] = []
        self.anchors: list[FeedLink] = []
        self._anchor: tuple[str, str, list[str]] | None = None  # (url, title attribute, text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}  # names arrive lower-cased
        if tag == "base" and values.get("href"):
            self.base = _absolute(values["href"], self.base) or self.base
        elif tag == "link":
            self._link(values)
        elif tag == "a":
            self._close_anchor()
            url = _absolute(values.get("href", ""), self.base)
            if url and _looks_like_feed_url(url):
                self._anchor = (url, values.get("title", ""), [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self._close_anchor()

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close_anchor()

    def handle_data(self, data: str) -> None:
        if self._anchor:
            self._anchor[2].append(data)

    def close(self) -> None:
        super().close()
        self._close_anchor()

    def _link(self, values: dict[str, str]) -> None:
        rels = values.get("rel", "").lower().split()
        media_type = _FEED_TYPES.get(values.get("type", "").split(";")[0].strip().lower())
        if media_type and ("alternate" in rels or "feed" in rels):
            url = _absolute(values.get("href", ""), self.base)
            if url:
                title = " ".join(values.get("title", "").split())
                self.declared.append(FeedLink(url, title, media_type))

    def _close_anchor(self) -> None:
        if self._anchor:
            url, title_attribute, parts = self._anchor
            title = " ".join(" ".join(parts).split()) or " ".join(title_attribute.split())
            self.anchors.append(FeedLink(url, title, ""))
            self._anchor = None

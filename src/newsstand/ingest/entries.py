"""A feed document read into rows ready to store: parsed, each entry's HTML sanitized, its
plain text and its deduplication key worked out. Pure (bytes in, rows out) and CPU-bound,
so `newsstand fetch` runs it in its pool of processes, as it does page extraction, and the
threads that talk to publishers and the database only fetch and store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from newsstand.ingest.feedparse import ParsedEntry, ParsedFeed, parse_feed
from newsstand.ingest.sanitize import html_to_text, plain_text, sanitize_html
from newsstand.ingest.urlnorm import canonical_url

# The Article fields a feed entry supplies (and may later revise).
FEED_FIELDS = ("title", "byline", "summary_html", "feed_content_html", "image_url")


@dataclass(frozen=True)
class EntryRow:
    entry: ParsedEntry
    key: str  # the entry link's canonical form: how the same article is found again
    fields: dict[str, Any]  # FEED_FIELDS, plus html, text and word_count when feed_only


@dataclass(frozen=True)
class ReadFeed:
    feed: ParsedFeed
    rows: tuple[EntryRow, ...]  # one per article: entries without a link and repeats left out
    skipped_no_link: int


def read_feed(content: bytes, url: str, *, media_type: str = "", charset: str | None = None,
              feed_only: bool = False) -> ReadFeed:
    """Parse a feed document (FeedParseError when it is none) and prepare its entries.
    `feed_only`: no article page will be read, so the feed's own content is the article."""
    feed = parse_feed(content, url, media_type=media_type, charset=charset)
    rows: list[EntryRow] = []
    keys: set[str] = set()
    linked = [entry for entry in feed.entries if entry.link]
    for entry in linked:
        key = canonical_url(entry.link)
        if key in keys:  # the same item twice in one document
            continue
        keys.add(key)
        rows.append(EntryRow(entry, key, entry_fields(entry, feed_only=feed_only)))
    return ReadFeed(feed, tuple(rows), len(feed.entries) - len(linked))


def entry_fields(entry: ParsedEntry, *, feed_only: bool = False) -> dict[str, Any]:
    fields = {
        "title": (plain_text(entry.title) or "(untitled)")[:1000],
        "byline": plain_text(entry.author)[:500],
        "summary_html": sanitize_html(entry.summary_html, entry.link) if entry.summary_html else "",
        "feed_content_html": sanitize_html(entry.content_html, entry.link) if entry.content_html else "",
        "image_url": (entry.image_url or "")[:2000],
    }
    if feed_only:
        html = fields["feed_content_html"] or fields["summary_html"]
        text = html_to_text(html) if html else ""
        fields |= {"html": html, "text": text, "word_count": len(text.split())}
    return fields

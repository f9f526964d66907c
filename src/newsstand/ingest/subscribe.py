"""Subscribing: turn what a user typed (a feed URL or just a site's address) into a Feed,
finding the feed on the page or at the usual paths when needed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.db import transaction

from newsstand.ingest.discovery import COMMON_FEED_PATHS, discover_feed_links, looks_like_html
from newsstand.ingest.feedparse import FeedParseError, ParsedFeed, parse_feed
from newsstand.ingest.fetch import FetchConfig, FetchError, fetch
from newsstand.ingest.models import Feed, Source
from newsstand.ingest.poll import FEED_ACCEPT

log = logging.getLogger(__name__)


class SubscribeError(ValueError):
    pass


@dataclass(frozen=True)
class FoundFeed:
    url: str
    parsed: ParsedFeed


def try_feed(url: str, config: FetchConfig) -> tuple[FoundFeed | None, bytes, str, str]:
    """Returns (feed or None, body, media type, final URL)."""
    fetched = fetch(url, config=config, accept=FEED_ACCEPT)
    if looks_like_html(fetched.content, fetched.media_type):
        return None, fetched.content, fetched.media_type, fetched.url
    try:
        parsed = parse_feed(fetched.content, fetched.url, media_type=fetched.media_type, charset=fetched.charset)
    except FeedParseError:
        return None, fetched.content, fetched.media_type, fetched.url
    return FoundFeed(fetched.url, parsed), fetched.content, fetched.media_type, fetched.url


def find_feed(url: str, config: FetchConfig | None = None) -> FoundFeed:
    config = config or FetchConfig.from_settings()
    if not urlsplit(url).scheme:
        url = "https://" + url
    try:
        found, body, media_type, final_url = try_feed(url, config)
    except FetchError as error:
        raise SubscribeError(f"Could not fetch {url}: {error.message}") from error
    if found:
        return found
    candidates = []
    if looks_like_html(body, media_type):
        candidates = [link.url for link in discover_feed_links(body, final_url)]
    candidates += [urljoin(final_url, path) for path in COMMON_FEED_PATHS]
    for candidate in dict.fromkeys(candidates):
        try:
            found, *_ = try_feed(candidate, config)
        except FetchError:
            continue
        if found:
            log.info("discovered feed %s on %s", found.url, url)
            return found
    raise SubscribeError(f"No feed found at {url}: it is not a feed, names none, and none is at the usual paths.")


def add_feed(url: str, source_name: str | None = None, config: FetchConfig | None = None) -> Feed:
    found = find_feed(url, config)
    existing = Feed.objects.filter(url=found.url).first()
    if existing:
        raise SubscribeError(f"Already subscribed to {found.url} (source: {existing.source.name}).")
    return create_feed(found.url, source_name or found.parsed.title or urlsplit(found.url).hostname,
                       title=found.parsed.title, home_url=found.parsed.home_url, icon_url=found.parsed.icon_url)


def create_feed(url: str, source_name: str, *, title: str = "", home_url: str | None = None,
                icon_url: str | None = None) -> Feed:
    with transaction.atomic():
        source, _ = Source.objects.get_or_create(
            name=source_name[:200], defaults={"homepage_url": (home_url or "")[:2000],
                                              "favicon_url": (icon_url or "")[:2000]})
        feed, _ = Feed.objects.get_or_create(url=url, defaults={"source": source, "title": title[:500]})
    return feed

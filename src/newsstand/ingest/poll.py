"""Polling one feed: fetch (politely, conditionally), parse, store new and updated entries,
and decide when to come back. This is the edge where HTTP, parsing and the database meet;
each step it calls is a plain function of its own module."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from newsstand.ingest import schedule
from newsstand.ingest.fetch import FetchConfig, FetchError, Fetched, fetch
from newsstand.ingest.feedparse import FeedParseError, ParsedEntry, ParsedFeed, parse_feed
from newsstand.ingest.models import Feed
from newsstand.ingest.politeness import DomainLimiter, default_limiter
from newsstand.ingest.sanitize import html_to_text, plain_text, sanitize_html
from newsstand.ingest.urlnorm import canonical_url
from newsstand.news.models import Article, ArticleLink, ExtractionStatus, HeadlineChange

log = logging.getLogger(__name__)

# Longer than this, a domain's Retry-After pause defers the work instead of blocking a thread.
MAX_POLITE_WAIT = 30

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True)
class PollOutcome:
    feed_id: int
    status: str  # "updated" | "not_modified" | "failed" | "skipped"
    new_article_ids: tuple[int, ...] = ()
    updated_article_ids: tuple[int, ...] = ()
    error: str = ""
    # New or revised articles whose page must be read next (empty when page fetching is off).
    pages_to_read: tuple[int, ...] = ()


@dataclass
class StoredEntries:
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    pages_to_read: list[int] = field(default_factory=list)
    skipped_no_link: int = 0


def poll_feed(feed_id: int, *, now: datetime | None = None, config: FetchConfig | None = None,
              limiter: DomainLimiter | None = None) -> PollOutcome:
    now = now or timezone.now()
    config = config or FetchConfig.from_settings()
    limiter = limiter or default_limiter()
    policy = schedule.PollPolicy.from_settings()
    feed = Feed.objects.select_related("source").filter(pk=feed_id, enabled=True).first()
    if feed is None:
        return PollOutcome(feed_id, "skipped")

    paused = limiter.paused_for(feed.url)
    if paused > MAX_POLITE_WAIT:
        # The publisher asked us (via another feed or page) to wait: come back then, no error.
        feed.next_poll_at = max(feed.next_poll_at, now + timedelta(seconds=paused))
        feed.save(update_fields=["next_poll_at"])
        return PollOutcome(feed.pk, "skipped", error=f"{feed.url}: the publisher asked us to wait")
    try:
        with limiter.slot(feed.url):
            fetched = fetch(feed.url, config=config, etag=feed.etag or None,
                            last_modified=feed.last_modified or None, accept=FEED_ACCEPT)
    except FetchError as error:
        if error.retry_after:
            limiter.delay_until(feed.url, time.monotonic() + error.retry_after)
        return record_failure(feed, now, policy, error.message, status=error.status,
                              retry_after=error.retry_after)

    if fetched.not_modified:
        plan = schedule.after_success(now, policy, entry_times=None,
                                      previous_interval=feed.poll_interval, max_age=fetched.max_age)
        apply_schedule(feed, plan, now, status=304)
        feed.save(update_fields=SCHEDULE_FIELDS)  # the common case: keep it to one small UPDATE
        log.info("feed=%s status=304 not modified; next poll %s", feed.url, feed.next_poll_at)
        return PollOutcome(feed.pk, "not_modified")

    try:
        parsed = parse_feed(fetched.content, fetched.url, media_type=fetched.media_type,
                            charset=fetched.charset)
    except FeedParseError as error:
        return record_failure(feed, now, policy, str(error), status=fetched.status, retry_after=None)

    stored = store_entries(feed, parsed, now, fetch_pages=settings.NEWSSTAND_FETCH_PAGES)
    follow_permanent_redirect(feed, fetched)
    entry_times = [e.published for e in parsed.entries if e.published]
    plan = schedule.after_success(now, policy, entry_times=entry_times,
                                  previous_interval=feed.poll_interval, max_age=fetched.max_age)
    apply_schedule(feed, plan, now, status=fetched.status)
    # Validators are stored only once the body parsed, so a broken response is never
    # answered with "304 not modified" on the next poll.
    feed.etag = (fetched.etag or "")[:500]
    feed.last_modified = (fetched.last_modified or "")[:100]
    feed.format = parsed.format[:20]
    feed.title = feed.title or parsed.title[:500]
    feed.entries_seen += len(stored.new_ids)
    warnings = list(parsed.warnings)
    if stored.skipped_no_link:
        warnings.append(f"{stored.skipped_no_link} item(s) had no link to an article page and were skipped.")
    feed.last_warning = " ".join(warnings)[:2000]
    feed.save()
    source = feed.source
    if not source.homepage_url and parsed.home_url:
        source.homepage_url = parsed.home_url[:2000]
        source.favicon_url = source.favicon_url or (parsed.icon_url or "")[:2000]
        source.save(update_fields=["homepage_url", "favicon_url"])
    log.info("feed=%s status=%s entries=%d new=%d updated=%d", feed.url, fetched.status,
             len(parsed.entries), len(stored.new_ids), len(stored.updated_ids))
    return PollOutcome(feed.pk, "updated", tuple(stored.new_ids), tuple(stored.updated_ids),
                       pages_to_read=tuple(stored.pages_to_read))


def record_failure(feed: Feed, now: datetime, policy: schedule.PollPolicy, message: str, *,
                   status: int | None, retry_after: float | None) -> PollOutcome:
    plan = schedule.after_error(now, policy, previous_interval=feed.poll_interval,
                                consecutive_errors=feed.consecutive_errors,
                                retry_after=retry_after, status=status)
    apply_schedule(feed, plan, now, status=status)
    feed.last_error = message
    feed.last_error_at = now
    feed.save()
    log.warning("feed=%s status=%s failed (%d in a row): %s; next poll %s", feed.url, status,
                feed.consecutive_errors, message, feed.next_poll_at)
    return PollOutcome(feed.pk, "failed", error=message)


SCHEDULE_FIELDS = ["poll_interval", "next_poll_at", "consecutive_errors", "last_polled_at", "last_status",
                   "last_success_at", "enabled", "disabled_reason"]


def apply_schedule(feed: Feed, plan: schedule.FeedSchedule, now: datetime, *, status: int | None) -> None:
    feed.poll_interval = plan.poll_interval
    feed.next_poll_at = plan.next_poll_at
    feed.consecutive_errors = plan.consecutive_errors
    feed.last_polled_at = now
    feed.last_status = status
    if plan.consecutive_errors == 0:
        feed.last_success_at = now
    if not plan.enabled:
        feed.enabled = False
        feed.disabled_reason = plan.disabled_reason


def follow_permanent_redirect(feed: Feed, fetched: Fetched) -> None:
    """A 301/308 means the publisher moved the feed for good: remember the new address,
    unless another subscription already has it."""
    new_url = fetched.permanent_redirect_url
    if new_url and new_url != feed.url and not Feed.objects.filter(url=new_url).exists():
        log.info("feed=%s moved permanently to %s", feed.url, new_url)
        feed.url = new_url


def store_entries(feed: Feed, parsed: ParsedFeed, now: datetime, *, fetch_pages: bool = True) -> StoredEntries:
    """Insert new entries and update changed ones in place. The same entry is found again by
    its guid in this feed or by any normalized URL it is known by, so re-polling never
    duplicates; the unique URL key settles races between workers."""
    stored = StoredEntries()
    entries = [e for e in parsed.entries if e.link]
    stored.skipped_no_link = len(parsed.entries) - len(entries)
    keys = {id(e): canonical_url(e.link) for e in entries}
    by_guid = dict(
        Article.objects.filter(feed=feed, guid__in=[e.guid[:1000] for e in entries if e.guid])
        .values_list("guid", "id")
    )
    by_key = dict(ArticleLink.objects.filter(url_key__in=keys.values()).values_list("url_key", "article_id"))
    existing_ids = set(by_guid.values()) | set(by_key.values())
    existing = Article.objects.in_bulk(existing_ids)
    seen_keys: set[str] = set()
    fresh: list[tuple[ParsedEntry, str]] = []
    with transaction.atomic():
        for entry in entries:
            key = keys[id(entry)]
            if key in seen_keys:  # the same item twice in one feed document
                continue
            seen_keys.add(key)
            article_id = by_guid.get((entry.guid or "")[:1000]) or by_key.get(key)
            if article_id is None:
                fresh.append((entry, key))
                continue
            article = existing[article_id]
            if update_article_from_entry(article, entry, now):
                stored.updated_ids.append(article_id)
            if article.extraction_status == ExtractionStatus.PENDING and article_id not in stored.pages_to_read:
                stored.pages_to_read.append(article_id)
        for article in create_articles(feed, fresh, now, fetch_pages=fetch_pages):
            stored.new_ids.append(article.pk)
            if article.extraction_status == ExtractionStatus.PENDING:
                stored.pages_to_read.append(article.pk)
    return stored


def entry_fields(entry: ParsedEntry, base_url: str) -> dict:
    return {
        "title": (plain_text(entry.title) or "(untitled)")[:1000],
        "byline": plain_text(entry.author)[:500],
        "summary_html": sanitize_html(entry.summary_html, base_url) if entry.summary_html else "",
        "feed_content_html": sanitize_html(entry.content_html, base_url) if entry.content_html else "",
        "image_url": (entry.image_url or "")[:2000],
    }


def new_article(feed: Feed, entry: ParsedEntry, now: datetime, *, fetch_pages: bool) -> Article:
    fields = entry_fields(entry, entry.link)
    if not fetch_pages:
        # Feeds-only mode: the feed's own content is the article (no page request at all).
        html = fields["feed_content_html"] or fields["summary_html"]
        text = html_to_text(html) if html else ""
        fields |= {"html": html, "text": text, "word_count": len(text.split()), "extracted_at": now,
                   "extraction_status": ExtractionStatus.FEED_ONLY if text else ExtractionStatus.FAILED}
    return Article(
        source_id=feed.source_id, feed=feed, url=entry.link[:2000], guid=(entry.guid or "")[:1000],
        published_at=schedule.clamp_published(entry.published, now),
        updated_at=entry.updated, first_seen_at=now, queued_at=now, **fields,
    )


def create_articles(feed: Feed, fresh: list[tuple[ParsedEntry, str]], now: datetime, *,
                    fetch_pages: bool) -> list[Article]:
    """All of a poll's new articles in two statements; if another worker stored one of them
    a moment ago (a unique key clashes), fall back to one at a time and skip the taken ones."""
    articles = [new_article(feed, entry, now, fetch_pages=fetch_pages) for entry, _ in fresh]
    if not articles:
        return []
    try:
        with transaction.atomic():
            Article.objects.bulk_create(articles)
            ArticleLink.objects.bulk_create(
                [ArticleLink(url_key=key, article=article) for article, (_, key) in zip(articles, fresh)])
        return articles
    except IntegrityError:
        pass
    created = []
    for article, (entry, key) in zip(articles, fresh):
        article.pk = None
        try:
            with transaction.atomic():
                article.save(force_insert=True)
                ArticleLink.objects.create(url_key=key, article=article)
        except IntegrityError:
            # Another worker stored the same article a moment ago: it is not new.
            log.info("feed=%s entry %s already stored by another worker", feed.url, entry.link)
            continue
        created.append(article)
    return created


def update_article_from_entry(article: Article, entry: ParsedEntry, now: datetime) -> bool:
    fields = entry_fields(entry, article.url)
    changed = {name: value for name, value in fields.items()
               if value and getattr(article, name) != value}
    newer = entry.updated and (article.updated_at is None or entry.updated > article.updated_at)
    if not changed and not newer:
        return False
    if "title" in changed:
        HeadlineChange.objects.create(article=article, title=article.title, replaced_at=now)
    for name, value in changed.items():
        setattr(article, name, value)
    update_fields = list(changed)
    if newer:
        article.updated_at = min(entry.updated, now)
        update_fields.append("updated_at")
        if article.extraction_status != ExtractionStatus.PENDING:
            # The publisher revised the story: read its page again.
            article.extraction_status = ExtractionStatus.PENDING
            article.queued_at = now
            update_fields += ["extraction_status", "queued_at"]
    if article.extraction_status == ExtractionStatus.FEED_ONLY and "feed_content_html" in changed:
        article.html = article.feed_content_html
        article.text = html_to_text(article.html)
        update_fields += ["html", "text"]
    article.save(update_fields=update_fields)
    return True

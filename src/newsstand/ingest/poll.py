"""Polling one feed: fetch (politely, conditionally), parse, store new and updated entries,
and decide when to come back. This is the edge where HTTP, parsing and the database meet;
each step it calls is a plain function of its own module."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from newsstand.ingest import schedule
from newsstand.ingest.entries import FEED_FIELDS, EntryRow, ReadFeed, read_feed
from newsstand.ingest.fetch import FetchConfig, FetchError, Fetched, fetch
from newsstand.ingest.feedparse import FeedParseError
from newsstand.ingest.models import Feed
from newsstand.ingest.politeness import DomainLimiter, default_limiter
from newsstand.ingest.sanitize import html_to_text
from newsstand.news.bulk import insert_values, one_writer, update_row
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


def poll_feed(feed_id: int, *, now: datetime | None = None, config: FetchConfig | None = None,
              limiter: DomainLimiter | None = None, read: Callable[..., ReadFeed] = read_feed) -> PollOutcome:
    """`read` is entries.read_feed or a stand-in running it elsewhere (batch.py: in a process)."""
    now = now or timezone.now()
    config = config or FetchConfig.from_settings()
    limiter = limiter or default_limiter()
    policy = schedule.PollPolicy.from_settings()
    feed = load_feed(feed_id)
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
        with one_writer():
            update_row(feed, SCHEDULE_FIELDS)  # the common case: keep it to one small UPDATE
        log.info("feed=%s status=304 not modified; next poll %s", feed.url, feed.next_poll_at)
        return PollOutcome(feed.pk, "not_modified")

    fetch_pages = settings.NEWSSTAND_FETCH_PAGES
    try:
        document = read(fetched.content, fetched.url, media_type=fetched.media_type,
                        charset=fetched.charset, feed_only=not fetch_pages)
    except FeedParseError as error:
        return record_failure(feed, now, policy, str(error), status=fetched.status, retry_after=None)

    parsed = document.feed
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
    warnings = list(parsed.warnings)
    if document.skipped_no_link:
        warnings.append(f"{document.skipped_no_link} item(s) had no link to an article page and were skipped.")
    feed.last_warning = " ".join(warnings)[:2000]
    # The entries and the feed's new state in one transaction: one commit a poll (on SQLite
    # a commit cost as much as storing the entries), and a crash keeps both as they were.
    with one_writer(), transaction.atomic():
        stored = store_entries(feed, document, now, fetch_pages=fetch_pages)
        feed.entries_seen += len(stored.new_ids)
        update_row(feed, [*SCHEDULE_FIELDS, "url", "etag", "last_modified", "format", "title", "entries_seen",
                          "last_warning"])
    if not feed.source_homepage_url and parsed.home_url:
        source = feed.source
        source.homepage_url = parsed.home_url[:2000]
        source.favicon_url = source.favicon_url or (parsed.icon_url or "")[:2000]
        source.save(update_fields=["homepage_url", "favicon_url"])
    log.info("feed=%s status=%s entries=%d new=%d updated=%d", feed.url, fetched.status,
             len(parsed.entries), len(stored.new_ids), len(stored.updated_ids))
    return PollOutcome(feed.pk, "updated", tuple(stored.new_ids), tuple(stored.updated_ids),
                       pages_to_read=tuple(stored.pages_to_read))


def load_feed(feed_id: int) -> Feed | None:
    """The enabled feed with its source's homepage, as `source_homepage_url`. Written out:
    building this query through the ORM cost more than running it, on every poll."""
    feed_table, source_table = Feed._meta.db_table, Feed._meta.get_field("source").related_model._meta.db_table
    query = (f"SELECT f.*, s.homepage_url AS source_homepage_url FROM {feed_table} f "
             f"JOIN {source_table} s ON s.id = f.source_id WHERE f.id = %s AND f.enabled")
    return next(iter(Feed.objects.raw(query, [feed_id])), None)


def record_failure(feed: Feed, now: datetime, policy: schedule.PollPolicy, message: str, *,
                   status: int | None, retry_after: float | None) -> PollOutcome:
    plan = schedule.after_error(now, policy, previous_interval=feed.poll_interval,
                                consecutive_errors=feed.consecutive_errors,
                                retry_after=retry_after, status=status)
    apply_schedule(feed, plan, now, status=status)
    feed.last_error = message
    feed.last_error_at = now
    with one_writer():
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


def store_entries(feed: Feed, document: ReadFeed, now: datetime, *, fetch_pages: bool = True) -> StoredEntries:
    """Insert new entries and update changed ones in place. The same entry is found again by
    its guid in this feed or by any normalized URL it is known by, so re-polling never
    duplicates; the unique URL key settles races between workers."""
    stored = StoredEntries()
    rows = document.rows
    by_guid = known_guids(feed.pk, [r.entry.guid[:1000] for r in rows if r.entry.guid])
    by_key = known_keys([r.key for r in rows])
    existing_ids = set(by_guid.values()) | set(by_key.values())
    existing = Article.objects.in_bulk(existing_ids) if existing_ids else {}
    fresh: list[EntryRow] = []
    with transaction.atomic():
        for row in rows:
            article_id = by_guid.get((row.entry.guid or "")[:1000]) or by_key.get(row.key)
            if article_id is None:
                fresh.append(row)
                continue
            article = existing[article_id]
            if update_article_from_entry(article, row, now):
                stored.updated_ids.append(article_id)
            if article.extraction_status == ExtractionStatus.PENDING and article_id not in stored.pages_to_read:
                stored.pages_to_read.append(article_id)
        for article_id, status in create_articles(feed, fresh, now, fetch_pages=fetch_pages):
            stored.new_ids.append(article_id)
            if status == ExtractionStatus.PENDING:
                stored.pages_to_read.append(article_id)
    return stored


# Lookups run on every poll, so they are written out (the ORM took longer to build them than
# the database to answer), in slices that stay under SQLite's 999 parameters.
LOOKUP_SLICE = 500


def known_guids(feed_id: int, guids: list[str]) -> dict[str, int]:
    """Article ids of the entries of this feed already stored, by guid."""
    return _lookup(f"SELECT guid, id FROM {Article._meta.db_table} WHERE feed_id = %s AND guid", [feed_id], guids)


def known_keys(keys: list[str]) -> dict[str, int]:
    """Article ids of these normalized URLs, for those already stored."""
    return _lookup(f"SELECT url_key, article_id FROM {ArticleLink._meta.db_table} WHERE url_key", [], keys)


def _lookup(query: str, params: list, values: list[str]) -> dict[str, int]:
    """{value: id} from `query` completed by "IN (values)", a slice at a time."""
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(values), LOOKUP_SLICE):
            part = values[start:start + LOOKUP_SLICE]
            cursor.execute(f"{query} IN ({', '.join(['%s'] * len(part))})", [*params, *part])
            found.update(cursor.fetchall())
    return found


def new_article_row(feed: Feed, row: EntryRow, now: datetime, *, fetch_pages: bool) -> dict[str, Any]:
    """The new article's fields ({attname: value}; the model's defaults for the rest)."""
    fields = dict(row.fields)
    if fetch_pages:
        for name in ("html", "text", "word_count"):
            fields.pop(name, None)
        fields["extraction_status"] = ExtractionStatus.PENDING
    else:
        # Feeds-only mode: the feed's own content is the article (no page request at all).
        fields |= {"extracted_at": now,
                   "extraction_status": ExtractionStatus.FEED_ONLY if fields.get("text") else ExtractionStatus.FAILED}
    entry = row.entry
    return {"source_id": feed.source_id, "feed_id": feed.pk, "url": entry.link[:2000],
            "guid": (entry.guid or "")[:1000], "published_at": schedule.clamp_published(entry.published, now),
            "updated_at": entry.updated, "first_seen_at": now, "queued_at": now, **fields}


def create_articles(feed: Feed, fresh: list[EntryRow], now: datetime, *,
                    fetch_pages: bool) -> list[tuple[int, str]]:
    """All of a poll's new articles in two statements; if another worker stored one of them
    a moment ago (a unique key clashes), fall back to one at a time and skip the taken ones.
    Returns the (id, extraction status) of each article stored."""
    rows = [new_article_row(feed, row, now, fetch_pages=fetch_pages) for row in fresh]
    if not rows:
        return []
    try:
        with transaction.atomic():
            ids = insert_values(Article, rows)
            insert_values(ArticleLink, [{"url_key": row.key, "article_id": pk} for row, pk in zip(fresh, ids)])
        return [(pk, values["extraction_status"]) for pk, values in zip(ids, rows)]
    except IntegrityError:
        pass
    created = []
    for values, row in zip(rows, fresh):
        try:
            with transaction.atomic():
                article = Article.objects.create(**values)
                ArticleLink.objects.create(url_key=row.key, article=article)
        except IntegrityError:
            # Another worker stored the same article a moment ago: it is not new.
            log.info("feed=%s entry %s already stored by another worker", feed.url, row.entry.link)
            continue
        created.append((article.pk, article.extraction_status))
    return created


def update_article_from_entry(article: Article, row: EntryRow, now: datetime) -> bool:
    entry = row.entry
    fields = {name: row.fields[name] for name in FEED_FIELDS}
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

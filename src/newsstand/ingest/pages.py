"""Reading one article's page: fetch it, extract the full text, fall back to the feed's own
content when the page fails or says less, and merge the article into an existing one when
its page reveals it is the same (canonical link, same text)."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from newsstand.ingest.extract import ExtractedPage, ExtractionError, extract_page
from newsstand.ingest.fetch import FetchConfig, FetchError, fetch
from newsstand.ingest.models import Source
from newsstand.ingest.politeness import DomainLimiter, default_limiter
from newsstand.ingest.poll import MAX_POLITE_WAIT
from newsstand.ingest.sanitize import html_to_text
from newsstand.ingest.urlnorm import canonical_url
from newsstand.news.bulk import update_row
from newsstand.news.models import Article, ArticleLink, ExtractionStatus

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
CLAIM_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class PageOutcome:
    article_id: int
    status: str  # an ExtractionStatus value, "merged" or "skipped"
    merged_into: int | None = None
    error: str = ""


@dataclass(frozen=True)
class ChosenText:
    html: str
    text: str
    status: str
    error: str


def content_hash(text: str) -> str:
    normalized = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(normalized.encode()).hexdigest() if normalized else ""


def choose_text(page: ExtractedPage | None, feed_html: str, page_error: str) -> ChosenText:
    """The page wins unless it failed or says less than the feed already did (teaser pages,
    paywalls, extraction misses)."""
    feed_text = html_to_text(feed_html) if feed_html else ""
    if page is not None and len(page.text.split()) >= len(feed_text.split()):
        return ChosenText(page.html, page.text, ExtractionStatus.DONE, "")
    if feed_text:
        reason = page_error or "The page had less text than the feed"
        return ChosenText(feed_html, feed_text, ExtractionStatus.FEED_ONLY,
                          f"{reason}; showing the feed's text instead.")
    return ChosenText("", "", ExtractionStatus.FAILED, page_error or "No text found in the page or the feed.")


# The statements every page job runs are written out: building them through the ORM took
# longer than SQLite took to run them (bench/ingest.py), and they run 10,000 times a fetch.
ARTICLE = Article._meta.db_table
LINK = ArticleLink._meta.db_table


def claim(article_id: int, now: datetime) -> bool:
    """Take the page job with a lease, so two workers never read the same page at once and a
    worker killed mid-way only delays the article until the lease runs out."""
    when = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ARTICLE} SET claimed_until = %s, extraction_attempts = extraction_attempts + 1 "
            "WHERE id = %s AND extraction_status = %s AND extraction_attempts < %s "
            "AND (claimed_until IS NULL OR claimed_until < %s)",
            [when(now + CLAIM_LEASE), article_id, ExtractionStatus.PENDING.value, MAX_ATTEMPTS, when(now)])
        return cursor.rowcount == 1


@dataclass(frozen=True)
class PageRead:
    page: ExtractedPage | None
    final_url: str
    error: str = ""          # plain words
    transient: bool = False  # worth trying again later (timeouts, 5xx, 429)


def is_transient(error: FetchError) -> bool:
    return error.kind in ("timeout", "network") or error.status in (429, 500, 502, 503, 504)


Extract = Callable[[str, str], ExtractedPage]


def read_page(url: str, config: FetchConfig, limiter: DomainLimiter, extract: Extract = extract_page) -> PageRead:
    try:
        with limiter.slot(url):
            fetched = fetch(url, config=config, accept=PAGE_ACCEPT)
    except FetchError as error:
        if error.retry_after:
            limiter.delay_until(url, time.monotonic() + error.retry_after)
        return PageRead(None, url, f"The article page could not be fetched: {error.message}", is_transient(error))
    try:
        return PageRead(extract(fetched.text(), fetched.url), fetched.url)
    except ExtractionError as error:
        return PageRead(None, fetched.url, f"The article page could not be read: {error.message}")


def process_article(article_id: int, *, now: datetime | None = None, config: FetchConfig | None = None,
                    limiter: DomainLimiter | None = None, extract: Extract = extract_page) -> PageOutcome:
    """`extract` may run elsewhere (`newsstand fetch` hands it to a process pool); it must
    behave like extract_page: a pure function of (html, url)."""
    now = now or timezone.now()
    limiter = limiter or default_limiter()
    if not claim(article_id, now):
        return PageOutcome(article_id, "skipped")
    article = next(iter(Article.objects.raw(f"SELECT * FROM {ARTICLE} WHERE id = %s", [article_id])))
    paused = limiter.paused_for(article.url)
    if paused > MAX_POLITE_WAIT:
        # The publisher asked us to wait: keep the job, hand it back when the pause ends.
        Article.objects.filter(pk=article_id).update(claimed_until=now + timedelta(seconds=paused),
                                                     extraction_attempts=F("extraction_attempts") - 1)
        return PageOutcome(article_id, "skipped", error="the publisher asked us to wait")
    read = read_page(article.url, config or FetchConfig.from_settings(), limiter, extract)
    page, final_url, page_error = read.page, read.final_url, read.error
    chosen = choose_text(page, article.feed_content_html, page_error)
    if chosen.status == ExtractionStatus.FAILED and read.transient and article.extraction_attempts < MAX_ATTEMPTS:
        # Nothing to show yet and the failure may pass: keep the job, back off, try again.
        retry_at = now + timedelta(minutes=2 ** article.extraction_attempts)
        Article.objects.filter(pk=article_id).update(claimed_until=retry_at, extraction_error=chosen.error[:2000])
        log.warning("article=%s url=%s %s; retrying after %s", article.pk, article.url, chosen.error, retry_at)
        return PageOutcome(article_id, "retry", error=chosen.error)
    keys = {canonical_url(article.url), canonical_url(final_url)}
    if page and page.canonical_url:
        keys.add(canonical_url(page.canonical_url))
    digest = content_hash(chosen.text)
    with transaction.atomic():
        duplicate = find_duplicate(article, keys, digest)
        if duplicate is not None:
            merge_into(article, duplicate, keys)
            log.info("article=%s is the same as article=%s; merged", article.pk, duplicate)
            return PageOutcome(article_id, "merged", merged_into=duplicate)
        save_extraction(article, page, chosen, digest, now)
        add_links(article, keys)
    if page_error:
        Source.objects.filter(pk=article.source_id).update(
            page_failures=F("page_failures") + 1, last_page_error=page_error[:2000], last_page_error_at=now)
        log.warning("article=%s url=%s %s", article.pk, article.url, chosen.error)
    return PageOutcome(article_id, chosen.status, error=chosen.error)


def find_duplicate(article: Article, keys: set[str], digest: str) -> int | None:
    """An older article already known by one of these URLs, or carrying the very same text
    from the same publisher."""
    keys = sorted(keys)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(article_id) FROM {LINK} WHERE url_key IN ({', '.join(['%s'] * len(keys))}) "
                       "AND article_id <> %s", [*keys, article.pk])
        linked = cursor.fetchone()[0]
        if linked is not None or not digest:
            return linked
        cursor.execute(f"SELECT MIN(id) FROM {ARTICLE} WHERE source_id = %s AND content_hash = %s AND id <> %s",
                       [article.source_id, digest, article.pk])
        return cursor.fetchone()[0]


def merge_into(article: Article, keep_id: int, keys: set[str]) -> None:
    ArticleLink.objects.filter(article=article).update(article_id=keep_id)
    article.delete()
    add_links(Article(pk=keep_id), keys)


def add_links(article: Article, keys: set[str]) -> None:
    # A key already taken (by another worker a moment ago, say) stays with its article.
    keys = sorted(keys)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {LINK} (url_key, article_id) VALUES "
                       + ", ".join(["(%s, %s)"] * len(keys)) + " ON CONFLICT DO NOTHING",
                       [value for key in keys for value in (key, article.pk)])


def save_extraction(article: Article, page: ExtractedPage | None, chosen: ChosenText, digest: str,
                    now: datetime) -> None:
    values = {
        "html": chosen.html,
        "text": chosen.text,
        "word_count": len(chosen.text.split()),
        "content_hash": digest,
        "extraction_status": chosen.status,
        "extraction_error": chosen.error[:2000],
        "extracted_at": now,
        "claimed_until": None,
    }
    if page is not None:
        if page.canonical_url:
            values["url"] = page.canonical_url[:2000]
        if page.byline and not article.byline:
            values["byline"] = page.byline[:500]
        if page.lead_image_url and not article.image_url:
            values["image_url"] = page.lead_image_url[:2000]
        values["language"] = (page.language or article.language)[:20]
        if page.title and article.title == "(untitled)":
            values["title"] = page.title[:1000]
    # Only what changed: the article table has many indexes and a full-text trigger, and
    # SQLite maintains every index naming a column in the UPDATE, changed or not.
    changed = [name for name, value in values.items() if getattr(article, name) != value]
    for name in changed:
        setattr(article, name, values[name])
    if changed:
        update_row(article, changed)

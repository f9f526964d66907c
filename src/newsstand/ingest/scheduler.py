"""Turns the database's schedule into queued work. The database is the source of truth (a
feed's next_poll_at, an article's pending status); tasks are only triggers. So several
schedulers may run, and work lost with a killed worker is found again and re-queued."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from newsstand.ingest.models import Feed
from newsstand.ingest.pages import MAX_ATTEMPTS
from newsstand.news.models import Article, ExtractionStatus

log = logging.getLogger(__name__)

# A claimed feed is not due again for this long; poll_feed sets the real next time.
POLL_LEASE = timedelta(minutes=15)
# A page job queued this long ago and still pending was lost (worker killed, queue pruned).
LOST_PAGE_AFTER = timedelta(minutes=15)


def claim_due_feeds(now: datetime, *, every_enabled: bool = False) -> list[int]:
    """Atomically pushes each due feed's next_poll_at forward before handing it out, so two
    schedulers (or a scheduler and `newsstand fetch`) never poll the same feed twice."""
    feeds = Feed.objects.filter(enabled=True)
    if not every_enabled:
        feeds = feeds.filter(next_poll_at__lte=now)
    claimed = []
    rows = feeds.values_list("id", "next_poll_at", "consecutive_errors", "last_status")
    with transaction.atomic():  # one commit for every claim, not one each
        for feed_id, next_poll_at, errors, status in rows:
            # --all still honours a server's Retry-After, which lies far beyond the usual lease.
            if every_enabled and next_poll_at > now and errors and status in (429, 503):
                continue
            if Feed.objects.filter(pk=feed_id, next_poll_at=next_poll_at).update(next_poll_at=now + POLL_LEASE):
                claimed.append(feed_id)
    return claimed


def lost_pages(now: datetime) -> list[int]:
    """Pending pages whose job was queued long ago and is not being worked on."""
    ids = list(
        Article.objects.filter(extraction_status=ExtractionStatus.PENDING, extraction_attempts__lt=MAX_ATTEMPTS)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - LOST_PAGE_AFTER))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .values_list("id", flat=True)[:1000]
    )
    Article.objects.filter(pk__in=ids).update(queued_at=now)
    return ids


def enqueue_due_work(now: datetime | None = None) -> tuple[int, int]:
    from newsstand.ingest.tasks import enqueue_pages, enqueue_poll

    now = now or timezone.now()
    with transaction.atomic():
        feed_ids = claim_due_feeds(now)
        for feed_id in feed_ids:
            enqueue_poll(feed_id)
        page_ids = lost_pages(now)
        enqueue_pages(page_ids)
    if feed_ids or page_ids:
        log.info("scheduler queued %d feed poll(s) and %d lost page(s)", len(feed_ids), len(page_ids))
    return len(feed_ids), len(page_ids)


# Story repair (merge split stories, split drifted ones) is periodic, not per article.
REPAIR_EVERY = timedelta(hours=1)


def run_forever(tick_seconds: float = 15) -> None:
    from newsstand.intel.tasks import repair_stories_task

    log.info("scheduler started (every %ss)", tick_seconds)
    next_repair = timezone.now() + REPAIR_EVERY
    while True:
        close_old_connections()
        try:
            enqueue_due_work()
            if timezone.now() >= next_repair:
                repair_stories_task.enqueue()
                next_repair = timezone.now() + REPAIR_EVERY
        except Exception:
            # A database hiccup must not stop scheduling for good.
            log.exception("scheduler tick failed; retrying in %ss", tick_seconds)
        time.sleep(tick_seconds)

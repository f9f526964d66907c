"""Background tasks. Each wraps a pipeline step and takes ids, never objects; each is
idempotent (run twice or killed mid-way, it leaves no duplicate and no half-written row),
because the step it wraps claims its work in the database first."""

from django.db import transaction
from django_tasks import task

from newsstand.ingest.pages import process_article
from newsstand.ingest.poll import poll_feed
from newsstand.intel.tasks import enqueue_intel
from newsstand.news.models import ExtractionStatus

PAGE_BATCH = 10


READABLE = {ExtractionStatus.DONE, ExtractionStatus.FEED_ONLY}


@task()
def poll_feed_task(feed_id: int) -> dict:
    outcome = poll_feed(feed_id)
    enqueue_pages(list(outcome.pages_to_read))
    # Feeds-only articles are readable at once: straight on to story intelligence.
    enqueue_intel([pk for pk in outcome.new_article_ids if pk not in outcome.pages_to_read])
    return {"status": outcome.status, "new": len(outcome.new_article_ids), "error": outcome.error}


@task()
def process_articles_task(article_ids: list[int]) -> dict:
    statuses: dict[str, int] = {}
    readable = []
    for article_id in article_ids:
        status = process_article(article_id).status
        statuses[status] = statuses.get(status, 0) + 1
        if status in READABLE:
            readable.append(article_id)
    enqueue_intel(readable)
    return statuses


def enqueue_pages(article_ids: list[int]) -> None:
    """Batches keep the queue small (one row per ten pages, not per page)."""
    for start in range(0, len(article_ids), PAGE_BATCH):
        batch = article_ids[start:start + PAGE_BATCH]
        transaction.on_commit(lambda batch=batch: process_articles_task.enqueue(batch))


def enqueue_poll(feed_id: int) -> None:
    transaction.on_commit(lambda: poll_feed_task.enqueue(feed_id))

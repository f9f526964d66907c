"""Background tasks for story intelligence. They take ids and are idempotent: re-running a
batch recomputes the same embeddings, duplicates, story, tags and related lists."""

from __future__ import annotations

import os

from django.db import transaction
from django_tasks import task

INTEL_BATCH = 32


@task()
def intel_articles_task(article_ids: list[int]) -> dict:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from newsstand.intel.pipeline import process_intel  # the worker side only

    return process_intel(article_ids).counts


@task()
def repair_stories_task(days: int = 3) -> dict:
    from newsstand.intel.repair import repair_stories

    report = repair_stories(days=days)
    return {"merged": report.merged, "split": report.split, "checked": report.checked}


def enqueue_intel(article_ids) -> None:
    """Queue story intelligence for articles that just became readable (after the commit
    that made them so). Ids that turn out unreadable or merged away are skipped."""
    ids = [int(pk) for pk in article_ids if pk]
    batches = [ids[start:start + INTEL_BATCH] for start in range(0, len(ids), INTEL_BATCH)]
    if not batches:
        return

    def enqueue_all() -> None:
        with transaction.atomic():  # one commit for all the queue rows, not one each
            for batch in batches:
                intel_articles_task.enqueue(batch)

    transaction.on_commit(enqueue_all)

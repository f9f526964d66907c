"""`newsstand fetch`: poll feeds once and finish every page they bring, in one process,
with a progress bar. Polls and page reads overlap in a thread pool (they mostly wait on the
network); the steps are the same functions the background tasks run."""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from newsstand.ingest.pages import process_article
from newsstand.ingest.poll import poll_feed
from newsstand.ingest.scheduler import claim_due_feeds, lost_pages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchSummary:
    feeds: Counter
    pages: Counter
    errors: tuple[str, ...]

    @property
    def processed_anything(self) -> bool:
        return bool(self.feeds["updated"] + self.feeds["not_modified"] + sum(self.pages.values()))

    def describe(self) -> str:
        feeds = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(self.feeds.items())) or "none due"
        pages = ", ".join(f"{n} {s}" for s, n in sorted(self.pages.items())) or "none"
        return f"Feeds: {feeds}. Article pages: {pages}."


def in_thread(function, *args):
    try:
        return function(*args)
    finally:
        # Threads die with the pool; their connections must not linger open.
        connections.close_all()


def run_fetch(*, every_enabled: bool = False, workers: int = 8, progress: bool = True) -> FetchSummary:
    now = timezone.now()
    feed_ids = claim_due_feeds(now, every_enabled=every_enabled)
    page_ids = lost_pages(now)
    feeds: Counter = Counter()
    pages: Counter = Counter()
    errors: list[str] = []
    bar = tqdm(total=len(feed_ids) + len(page_ids), unit="job", desc="Fetching",
               disable=not progress, dynamic_ncols=True)
    with logging_redirect_tqdm(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        running: dict[Future, str] = {pool.submit(in_thread, poll_feed, fid): "feed" for fid in feed_ids}
        running |= {pool.submit(in_thread, process_article, aid): "page" for aid in page_ids}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                kind = running.pop(future)
                bar.update(1)
                try:
                    outcome = future.result()
                except Exception as exc:  # a bug must not stop the other feeds
                    log.exception("%s job crashed", kind)
                    errors.append(f"{kind} job crashed: {exc}")
                    continue
                if kind == "feed":
                    feeds[outcome.status] += 1
                    if outcome.error:
                        errors.append(outcome.error)
                    new_pages = outcome.pages_to_read
                    bar.total += len(new_pages)
                    bar.refresh()
                    for aid in new_pages:
                        running[pool.submit(in_thread, process_article, aid)] = "page"
                else:
                    pages[outcome.status] += 1
            bar.set_postfix(feeds=sum(feeds.values()), pages=sum(pages.values()), refresh=False)
    bar.close()
    return FetchSummary(feeds, pages, tuple(errors))

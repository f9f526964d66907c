"""`newsstand fetch`: poll feeds once and finish every page they bring, in one process,
with a progress bar. The steps are the same functions the background tasks run.

Work is split by what it waits on: HTTP and database calls run in a few threads (they
mostly wait on the network), while reading feed documents and extracting pages — pure
CPU — runs in a pool of processes, one per core, so it is not serialized behind the GIL."""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from newsstand.ingest.entries import ReadFeed, read_feed
from newsstand.ingest.extract import ExtractedPage, extract_page
from newsstand.ingest.pages import process_article
from newsstand.ingest.poll import poll_feed
from newsstand.ingest.scheduler import claim_due_feeds, lost_pages
from newsstand.ingest.tasks import READABLE
from newsstand.intel.tasks import enqueue_intel

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


def extraction_pool() -> ProcessPoolExecutor | None:
    """One extraction process per core; none on a single core, where it would only add
    copying. Spawned, not forked: forking a process that already runs threads is unsafe (so a
    script that calls run_fetch itself must do so under `if __name__ == "__main__":`).

    Measured alternative (bench/ingest.py, 100 feeds x 20, quiet machine): whole page jobs
    (fetch, extract, store) in the children, threads inside each, ran at 0.41 of baseline A
    against 0.43 for this design, with settings to hand over and politeness limits to split;
    so only the pure, CPU-bound extraction crosses the process boundary."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return None
    return ProcessPoolExecutor(max_workers=cores, mp_context=multiprocessing.get_context("spawn"))


def run_fetch(*, every_enabled: bool = False, workers: int = 8, progress: bool = True) -> FetchSummary:
    now = timezone.now()
    feed_ids = claim_due_feeds(now, every_enabled=every_enabled)
    page_ids = lost_pages(now)
    feeds: Counter = Counter()
    pages: Counter = Counter()
    errors: list[str] = []
    if not feed_ids and not page_ids:
        return FetchSummary(feeds, pages, ())

    pool = extraction_pool()
    working_pool = [pool]  # emptied if the pool breaks

    def offload(function, *args, **kwargs):
        """A pure, CPU-bound step in the pool, or here when there is none or it broke: a child
        killed (by the OOM killer, say) must not fail every job left in the run."""
        if working_pool and working_pool[0] is not None:
            try:
                return working_pool[0].submit(function, *args, **kwargs).result()
            except BrokenProcessPool:
                if working_pool:
                    log.warning("a worker process of the pool stopped; carrying on in this process")
                    working_pool.clear()
        return function(*args, **kwargs)

    def extract(html: str, url: str) -> ExtractedPage:
        return offload(extract_page, html, url)

    def read(*args, **kwargs) -> ReadFeed:
        return offload(read_feed, *args, **kwargs)

    jobs: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        try:
            while (job := jobs.get()) is not None:
                kind, item_id = job
                try:
                    if kind == "feed":
                        results.put((kind, poll_feed(item_id, read=read), None))
                    else:
                        results.put((kind, process_article(item_id, extract=extract), None))
                except Exception as exc:  # a bug must not stop the other feeds
                    log.exception("%s %s crashed", kind, item_id)
                    results.put((kind, None, exc))
        finally:
            connections.close_all()  # once per thread, not per job: connecting is not free

    for feed_id in feed_ids:
        jobs.put(("feed", feed_id))
    for article_id in page_ids:
        jobs.put(("page", article_id))
    pending = len(feed_ids) + len(page_ids)
    readable: list[int] = []
    threads = [threading.Thread(target=work, name=f"fetch-{n}", daemon=True) for n in range(workers)]
    bar = tqdm(total=pending, unit="job", desc="Fetching", disable=not progress, dynamic_ncols=True)
    try:
        # Our loggers' own console handler, not the root logger: the root has none, and
        # giving it one printed every line twice (once with our format, once without).
        with logging_redirect_tqdm(loggers=[logging.getLogger("newsstand")]):
            for thread in threads:
                thread.start()
            while pending:
                kind, outcome, exc = results.get()
                pending -= 1
                bar.update(1)
                if exc is not None:
                    errors.append(f"{kind} job crashed: {exc}")
                elif kind == "feed":
                    feeds[outcome.status] += 1
                    if outcome.error:
                        errors.append(outcome.error)
                    readable += [pk for pk in outcome.new_article_ids if pk not in outcome.pages_to_read]
                    for article_id in outcome.pages_to_read:
                        jobs.put(("page", article_id))
                    pending += len(outcome.pages_to_read)
                    bar.total += len(outcome.pages_to_read)
                else:
                    pages[outcome.status] += 1
                    if outcome.status in READABLE:
                        readable.append(outcome.article_id)
                if progress:  # (formatting the postfix costs, shown or not)
                    bar.set_postfix(feeds=sum(feeds.values()), pages=sum(pages.values()), refresh=False)
    finally:
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
        bar.close()
        if pool:
            pool.shutdown(cancel_futures=True)
    # Stories, duplicates, tags and related articles need the embedding model, which lives
    # in workers (`newsstand worker`, started by `newsstand run`), not in this command.
    enqueue_intel(readable)
    return FetchSummary(feeds, pages, tuple(errors))

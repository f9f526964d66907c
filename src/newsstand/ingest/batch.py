"""`newsstand fetch`: poll feeds once and finish every page they bring, with a progress bar.
The steps are the same functions the background tasks run.

Feeds are polled by threads of this process. Page jobs (fetch, extract, store: mostly CPU,
half of it Python under one GIL) go to child processes, one per core, each running a few
threads so that waiting on publishers overlaps; on a single core the threads of this process
do them too. Measured in bench/ingest.py: with only extraction in children, this process's
share of each page (HTTP, ORM, SQLite) kept one core busy and the other mostly idle."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from newsstand.ingest.pagepool import PageProcesses
from newsstand.ingest.pages import PageOutcome, process_article
from newsstand.ingest.poll import poll_feed
from newsstand.ingest.scheduler import claim_due_feeds, lost_pages
from newsstand.ingest.tasks import READABLE
from newsstand.intel.tasks import enqueue_intel

log = logging.getLogger(__name__)

# Pages handed to a child at once: enough to keep its threads busy, few enough that the
# progress bar moves and both children get work from a single large feed.
CHUNK = 8


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


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_fetch(*, every_enabled: bool = False, workers: int = 8, progress: bool = True) -> FetchSummary:
    now = timezone.now()
    feed_ids = claim_due_feeds(now, every_enabled=every_enabled)
    page_ids = lost_pages(now)
    feeds: Counter = Counter()
    pages: Counter = Counter()
    errors: list[str] = []
    if not feed_ids and not page_ids:
        return FetchSummary(feeds, pages, ())

    children = PageProcesses(cores(), max(1, workers // cores())) if cores() >= 2 else None
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    results: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        try:
            while (job := jobs.get()) is not None:
                kind, item_id = job
                try:
                    if kind == "feed":
                        results.put(("feed", poll_feed(item_id), None))
                    else:
                        results.put(("page", process_article(item_id), None))
                except Exception as exc:  # a bug must not stop the other feeds
                    log.exception("%s %s crashed", kind, item_id)
                    results.put((kind, None, exc))
        finally:
            connections.close_all()  # once per thread, not per job: connecting is not free

    def read(article_ids: list[int]) -> None:
        if children is None:
            for article_id in article_ids:
                jobs.put(("page", article_id))
            return
        for start in range(0, len(article_ids), CHUNK):
            chunk = article_ids[start:start + CHUNK]
            try:
                future = children.submit(chunk)
            except Exception as exc:  # the pool broke (a child died): these pages wait for the next run
                future = Future()
                future.set_exception(exc)
            future.add_done_callback(lambda done, chunk=chunk: results.put(("pages", done, chunk)))

    for feed_id in feed_ids:
        jobs.put(("feed", feed_id))
    read(page_ids)
    pending = len(feed_ids) + len(page_ids)
    readable: list[int] = []
    threads = [threading.Thread(target=work, name=f"fetch-{n}", daemon=True) for n in range(workers)]
    bar = tqdm(total=pending, unit="job", desc="Fetching", disable=not progress, dynamic_ncols=True)

    def page_done(outcome: PageOutcome) -> None:
        pages[outcome.status] += 1
        if outcome.status in READABLE:
            readable.append(outcome.article_id)

    try:
        # Our loggers' own console handler, not the root logger: the root has none, and
        # giving it one printed every line twice (once with our format, once without).
        with logging_redirect_tqdm(loggers=[logging.getLogger("newsstand")]):
            for thread in threads:
                thread.start()
            while pending:
                kind, outcome, detail = results.get()
                if kind == "pages":
                    # A chunk from a child; if the child died, its pages stay claimed until
                    # their lease runs out and the next run (or the scheduler) takes them again.
                    done = len(detail)
                    if outcome.exception() is not None:
                        errors.append(f"page jobs crashed: {outcome.exception()}")
                    else:
                        for article_id, page, crash in outcome.result():
                            if crash:
                                errors.append(f"page job crashed: {crash}")
                            else:
                                page_done(page)
                elif detail is not None:
                    done = 1
                    errors.append(f"{kind} job crashed: {detail}")
                elif kind == "feed":
                    done = 1
                    feeds[outcome.status] += 1
                    if outcome.error:
                        errors.append(outcome.error)
                    readable += [pk for pk in outcome.new_article_ids if pk not in outcome.pages_to_read]
                    read(list(outcome.pages_to_read))
                    pending += len(outcome.pages_to_read)
                    bar.total += len(outcome.pages_to_read)
                else:
                    done = 1
                    page_done(outcome)
                pending -= done
                bar.update(done)
                bar.set_postfix(feeds=sum(feeds.values()), pages=sum(pages.values()), refresh=False)
    finally:
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
        bar.close()
        if children is not None:
            children.shutdown()
    # Stories, duplicates, tags and related articles need the embedding model, which lives
    # in workers (`newsstand worker`, started by `newsstand run`), not in this command.
    enqueue_intel(readable)
    return FetchSummary(feeds, pages, tuple(errors))

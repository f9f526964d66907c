"""Page jobs (fetch, extract, store) in child processes, for `newsstand fetch` (batch.py).

Importable before Django is set up: a spawned child imports this module to find its
initializer, and only then sets Django up."""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING

from django.db import connections

if TYPE_CHECKING:
    from newsstand.ingest.pages import PageOutcome

log = logging.getLogger(__name__)


class PageProcesses:
    """One child process per core, started on the first page (a re-poll that finds nothing
    new never pays for them). Spawned, not forked: forking a process that runs threads is
    unsafe; as with any spawned pool, a script that calls run_fetch itself must do so under
    `if __name__ == "__main__":` (the `newsstand` command does). Children see this process's
    settings and database, so what a test or the command line changed holds there too."""

    def __init__(self, processes: int, threads_each: int) -> None:
        self.processes, self.threads_each = processes, threads_each
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, article_ids: list[int]) -> Future:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child, initargs=(_settings_for_children(self.processes),
                                                    dict(connections["default"].settings_dict),
                                                    self.threads_each))
        return self._pool.submit(read_pages, article_ids)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _settings_for_children(processes: int) -> dict:
    from django.conf import settings

    values = {name: getattr(settings, name) for name in dir(settings) if name.startswith("NEWSSTAND_")}
    values["DATA_DIR"] = settings.DATA_DIR
    # The per-domain limits hold per process: split them so that the children together keep
    # them (each keeps at least one request in flight, so a limit below the core count is exceeded).
    values["NEWSSTAND_DOMAIN_CONCURRENCY"] = max(1, int(settings.NEWSSTAND_DOMAIN_CONCURRENCY) // processes)
    values["NEWSSTAND_DOMAIN_RATE"] = float(settings.NEWSSTAND_DOMAIN_RATE) / processes
    return values


_child_threads: ThreadPoolExecutor | None = None


def _start_child(values: dict, database: dict, threads: int) -> None:
    global _child_threads
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsstand.settings")
    import django

    django.setup()
    from django.conf import settings

    for name, value in values.items():
        setattr(settings, name, value)
    connections["default"].settings_dict.update(database)  # e.g. the test database's name
    _child_threads = ThreadPoolExecutor(threads, thread_name_prefix="page")


def read_pages(article_ids: list[int]) -> list[tuple[int, PageOutcome | None, str]]:
    """In a child: the page jobs of one chunk, on its threads. Returns (id, outcome, crash)."""
    return list(_child_threads.map(_page_job, article_ids))


def _page_job(article_id: int) -> tuple[int, PageOutcome | None, str]:
    from newsstand.ingest.pages import process_article

    try:
        return article_id, process_article(article_id), ""
    except Exception as exc:  # a bug must not stop the other pages
        log.exception("page %s crashed", article_id)
        return article_id, None, str(exc) or type(exc).__name__

"""The process's article index, kept in step with the database.

Each process holds its own VectorIndex (a cache, as DESIGN.md allows), loaded from its file
under DATA_DIR and caught up from the database before every use: articles are embedded by
many workers, out of id order, so the index remembers the lowest id that might still gain a
vector (`scan_from`) rather than the highest it has seen."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from newsstand.intel.embed import DIMENSIONS, from_bytes
from newsstand.intel.index import VectorIndex

log = logging.getLogger(__name__)

# Only recent articles can join a story or be "related"; older ones leave the index (pruned
# hourly), so a worker's index holds a month of news however large the archive grows.
WINDOW = timedelta(days=30)
# An article still without a vector this long after it was first seen has failed for good.
PATIENCE = timedelta(days=1)
SAVE_EVERY = 300  # seconds
PRUNE_EVERY = 3600  # seconds; a process prunes on its first sync too (a loaded file may be old)
CHUNK = 2000


def index_folder() -> Path:
    return Path(settings.DATA_DIR) / "intel"


class ArticleVectors:
    def __init__(self, folder: Path | None = None):
        self.folder = folder or index_folder()
        self.index = VectorIndex(DIMENSIONS)
        self.scan_from = 0
        self._saved_at = time.monotonic()
        self._pruned_at: float | None = None
        self._lock = threading.RLock()
        loaded = VectorIndex.load(self.folder, DIMENSIONS)
        if loaded is not None:
            self.index, meta = loaded
            self.scan_from = int(meta.get("scan_from", 0))

    def sync(self) -> int:
        """Add every article embedded since the last sync; returns how many were added."""
        from newsstand.news.models import Article

        with self._lock:
            now = timezone.now()
            since = now - WINDOW
            candidates = (Article.objects.filter(pk__gte=self.scan_from, embedding__isnull=False,
                                                 published_at__gte=since)
                          .values_list("pk", flat=True).order_by("pk"))
            missing = [pk for pk in candidates.iterator(chunk_size=CHUNK) if pk not in self.index]
            added = 0
            for start in range(0, len(missing), CHUNK):
                rows = Article.objects.filter(pk__in=missing[start:start + CHUNK]).values_list("pk", "embedding")
                added += self._add_rows(rows)
            waiting = (Article.objects.filter(pk__gte=self.scan_from, embedding__isnull=True,
                                              first_seen_at__gte=now - PATIENCE)
                       .order_by("pk").values_list("pk", flat=True).first())
            newest = Article.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            self.scan_from = waiting if waiting is not None else newest + 1
            if self._pruned_at is None or time.monotonic() - self._pruned_at > PRUNE_EVERY:
                self.prune()
            self.maybe_save()
            return added

    def _add_rows(self, rows) -> int:
        keys, vectors = [], []
        for pk, blob in rows:
            vector = from_bytes(blob)
            if vector is not None and vector.size == DIMENSIONS:
                keys.append(pk)
                vectors.append(vector)
        if keys:
            import numpy as np

            self.index.add(keys, np.stack(vectors))
        return len(keys)

    def add(self, article_id: int, vector) -> None:
        with self._lock:
            self.index.add([article_id], vector.reshape(1, -1))

    def remove(self, article_ids) -> None:
        with self._lock:
            self.index.remove(list(article_ids))

    def prune(self) -> int:
        """Drop articles that left the window or the database; returns how many went."""
        from newsstand.news.models import Article

        with self._lock:
            keys = [int(k) for k in self.index.keys()]
            kept: list[int] = []
            since = timezone.now() - WINDOW
            for start in range(0, len(keys), CHUNK):
                kept += Article.objects.filter(pk__in=keys[start:start + CHUNK], published_at__gte=since) \
                    .values_list("pk", flat=True)
            gone = sorted(set(keys) - set(kept))
            self.index.remove(gone)
            self._pruned_at = time.monotonic()
            if gone:
                log.info("vector index: %d articles left the %d-day window", len(gone), WINDOW.days)
            return len(gone)

    def rebuild(self) -> int:
        with self._lock:
            self.index = VectorIndex(DIMENSIONS)
            self.scan_from = 0
            added = self.sync()
            self.save()
            return added

    def search(self, vector, k: int, *, exclude: int | None = None):
        return self.index.search(vector, k, exclude=exclude)

    def maybe_save(self) -> None:
        if time.monotonic() - self._saved_at > SAVE_EVERY:
            self.save()

    def save(self) -> None:
        with self._lock:
            try:
                self.index.save(self.folder, {"scan_from": self.scan_from})
            except OSError as error:  # a cache: losing it costs a rebuild, never data
                log.warning("could not save the vector index under %s: %s", self.folder, error)
            self._saved_at = time.monotonic()


_vectors: ArticleVectors | None = None
_vectors_lock = threading.Lock()


def article_vectors() -> ArticleVectors:
    """The process's index, synced with the database."""
    global _vectors
    with _vectors_lock:
        if _vectors is None or _vectors.folder != index_folder():
            _vectors = ArticleVectors()
    _vectors.sync()
    return _vectors


def reset_article_vectors() -> None:
    global _vectors
    _vectors = None

"""Nearest-neighbour search over article vectors.

Below EXACT_LIMIT vectors an exact numpy scan is both faster to maintain and exact (measured in
bench/intel_speed.py: a 50k×384 scan costs a few ms, while building an HNSW graph of the same
vectors costs a minute on two cores); above it, usearch's HNSW graph keeps the query cost flat.
The index is a cache: a file per process under DATA_DIR, updated incrementally, and rebuilt
from the database whenever it is missing, unreadable or behind."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000
# HNSW settings measured in bench/intel_speed.py: expansion_search 256 gives recall@10 ≥ 0.98
# against exact search on clustered embeddings; 64 (usearch's default) gave about 0.8.
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 256


def new_ann(dims: int):
    from usearch.index import Index

    return Index(ndim=dims, metric="cos", dtype="f16", connectivity=CONNECTIVITY,
                 expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)


class VectorIndex:
    """Keys are article ids; vectors are unit length, similarity is the cosine."""

    def __init__(self, dims: int = 384, *, exact_limit: int = EXACT_LIMIT):
        self.dims = dims
        self.exact_limit = exact_limit
        self._keys = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, dims), dtype=np.float32)
        self._size = 0  # rows in use; the arrays grow by doubling so adding one is O(1)
        self._rows: dict[int, int] = {}
        self._ann = None  # a usearch Index once the exact scan grows too large
        self._lock = threading.RLock()

    # -- contents -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ann) if self._ann is not None else len(self._rows)

    def __contains__(self, key: int) -> bool:
        with self._lock:
            return (int(key) in self._ann) if self._ann is not None else int(key) in self._rows

    @property
    def backend(self) -> str:
        return "usearch" if self._ann is not None else "exact"

    def add(self, keys, vectors: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), self.dims)
        if not len(keys):
            return
        with self._lock:
            present = [i for i, k in enumerate(keys) if int(k) in self]
            if present:
                self.remove(keys[present])
            if self._ann is not None:
                self._ann.add(keys.astype(np.uint64), vectors)
                return
            start = self._size
            self._reserve(start + len(keys))
            self._keys[start:start + len(keys)] = keys
            self._matrix[start:start + len(keys)] = vectors
            self._size += len(keys)
            for offset, key in enumerate(keys):
                self._rows[int(key)] = start + offset
            if self._size > self.exact_limit:
                self._switch_to_ann()

    def _reserve(self, rows: int) -> None:
        if rows <= len(self._keys):
            return
        capacity = max(rows, 2 * len(self._keys), 64)
        keys = np.zeros(capacity, dtype=np.int64)
        matrix = np.zeros((capacity, self.dims), dtype=np.float32)
        keys[:self._size] = self._keys[:self._size]
        matrix[:self._size] = self._matrix[:self._size]
        self._keys, self._matrix = keys, matrix

    def remove(self, keys) -> None:
        keys = [int(k) for k in np.asarray(keys).reshape(-1)]
        with self._lock:
            if self._ann is not None:
                for key in keys:
                    if key in self._ann:
                        self._ann.remove(key)
                return
            drop = [self._rows.pop(k) for k in keys if k in self._rows]
            if drop:
                keep = np.ones(self._size, dtype=bool)
                keep[drop] = False
                self._keys, self._matrix = self._keys[:self._size][keep], self._matrix[:self._size][keep]
                self._size = len(self._keys)
                self._rows = {int(k): i for i, k in enumerate(self._keys)}

    def keys(self) -> np.ndarray:
        with self._lock:
            if self._ann is not None:
                return np.asarray(self._ann.keys, dtype=np.int64)
            return self._keys[:self._size].copy()

    def search(self, vector: np.ndarray, k: int = 20, *, exclude: int | None = None) -> list[tuple[int, float]]:
        """The k most similar keys, most similar first, as (key, cosine)."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        with self._lock:
            if not len(self):
                return []
            wanted = k + (1 if exclude is not None else 0)
            if self._ann is not None:
                found = self._ann.search(vector, min(wanted, len(self._ann)))
                pairs = [(int(key), 1.0 - float(d)) for key, d in zip(found.keys, found.distances)]
            else:
                scores = self._matrix[:self._size] @ vector
                n = min(wanted, len(scores))
                top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
                top = top[np.argsort(-scores[top], kind="stable")]
                pairs = [(int(self._keys[i]), float(scores[i])) for i in top]
        return [(key, score) for key, score in pairs if key != exclude][:k]

    def _switch_to_ann(self) -> None:
        log.info("vector index passes %d vectors: switching to usearch HNSW", self.exact_limit)
        ann = new_ann(self.dims)
        ann.add(self._keys[:self._size].astype(np.uint64), self._matrix[:self._size], threads=os.cpu_count() or 1)
        self._ann = ann
        self._size = 0
        self._keys = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, self.dims), dtype=np.float32)
        self._rows = {}

    # -- persistence ------------------------------------------------------------------------
    def save(self, folder: Path, meta: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            # Write beside, then rename: a crash never leaves a half-written index behind.
            if self._ann is not None:
                self._ann.save(str(folder / "vectors.usearch.tmp"))
                os.replace(folder / "vectors.usearch.tmp", folder / "vectors.usearch")
                (folder / "vectors.npz").unlink(missing_ok=True)
            else:
                with open(folder / "vectors.tmp.npz", "wb") as handle:
                    np.savez(handle, keys=self._keys[:self._size], matrix=self._matrix[:self._size])
                os.replace(folder / "vectors.tmp.npz", folder / "vectors.npz")
                (folder / "vectors.usearch").unlink(missing_ok=True)
            (folder / "vectors.json.tmp").write_text(json.dumps({**meta, "dims": self.dims}))
            os.replace(folder / "vectors.json.tmp", folder / "vectors.json")

    @classmethod
    def load(cls, folder: Path, dims: int = 384) -> tuple["VectorIndex", dict] | None:
        if not (folder / "vectors.json").exists():
            return None  # first start, or a new machine: built from the database
        try:
            meta = json.loads((folder / "vectors.json").read_text())
            if meta.get("dims") != dims:
                return None
            index = cls(dims)
            if (folder / "vectors.usearch").exists():
                from usearch.index import Index

                index._ann = Index.restore(str(folder / "vectors.usearch"))
                index._ann.expansion_search = EXPANSION_SEARCH
            else:
                with np.load(folder / "vectors.npz") as data:
                    index._keys = data["keys"].astype(np.int64)
                    index._matrix = data["matrix"].astype(np.float32)
                index._size = len(index._keys)
                index._rows = {int(k): i for i, k in enumerate(index._keys)}
            return index, meta
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            log.warning("vector index under %s unreadable (%s); it will be rebuilt", folder, error)
            return None

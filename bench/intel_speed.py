"""Speed of story intelligence, with its baselines in the same run.

1. Embedding throughput inside the pipeline (articles read from the database, model input built,
   vectors written back) divided by raw sentence-transformers encode of the same texts with the
   same batch size. Target ≥ 0.9.
2. Per-article story assignment cost (nearest-neighbour candidates, scoring, index update) with
   10k, 100k and 1M article vectors already indexed, split into the index query, the index add
   and the rest (candidate stories, scoring). Target: flat, ≤ 1.5× from 10k to 1M.
   Measured twice: in memory (OnlineClusterer: the index and the scoring alone), and as a
   worker runs it (the index add, then assign_story under the assigner lock, against a SQLite
   database holding that many articles, their stories, profiles and term statistics).
3. ANN recall@10 of the index against exact search at each size, and its query time.

The article vectors come from two generators, both in stories of ~20 articles, 80 % of new
articles following a story and 20 % starting one:
- realistic (the figures that count): real MiniLM vectors of UCI News Aggregator headlines
  (110k headlines of ~5,700 stories plus one headline of each of 1,500 held-out stories,
  embedded once by the production embedder and cached under ~/.cache/newsstand-bench/). Each
  story grows around a real headline (its seed) by the real within-story spread: a member is
  seed + s·(cos θ·r_a + sin θ·r_b), r_a and r_b residuals (headline − its story's centre) of
  two real headlines of the seed's own story, θ uniform in [0, π/2], one scale s fitted so that
  the median cosine of same-story pairs equals the real one (nothing else is fitted). An
  article starting a story is a real headline of a held-out story (never a seed, never indexed).
  Calibration statistics (same-story cosines, nearest cosine outside the own story, neighbour
  cosines and the 1st−10th gap of following and new-story probes) are printed for the real
  vectors, this generator and the stress case at the size of the real sample, and recall and
  cost are measured on the real vectors themselves (the sample minus 5,000 headlines that come
  back as the articles following a story) beside the generator at that same size;
- stress case (the first generator): i.i.d. Gaussian story centres in 384-d, a new story a
  uniformly random direction, whose true neighbours are a million near-tied cosines ~0.2
  that no graph search ranks; real vectors are anisotropic and topical, nothing like it.

    .venv/bin/python bench/intel_speed.py          # everything: ~16 min on 2 busy cores (+6 min the first time: embedding)
    .venv/bin/python bench/intel_speed.py --skip-embedding --sizes 10000 100000 --stress-sizes
    .venv/bin/python bench/intel_speed.py --skip-embedding --sweep 64 128 256   # other ef_search on the same graphs
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from intel_data import RealHeadlines, basil, uci_headline_vectors
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


STORY_SIZE = 20
DIMS = 384


def synthetic(n: int, rng, story_size: int = STORY_SIZE):
    centers = rng.standard_normal((max(1, n // story_size), DIMS), dtype=np.float32)
    labels = rng.integers(0, len(centers), n)
    vectors = centers[labels]
    for start in range(0, n, 100_000):  # in place, in slices: 1M vectors are 1.5 GB already
        part = vectors[start:start + 100_000]
        part += 0.35 * rng.standard_normal(part.shape, dtype=np.float32)
        part /= np.linalg.norm(part, axis=1, keepdims=True)
    return centers, labels, vectors


class StressWorld:
    """The first generator, kept as a stress case: i.i.d. Gaussian story centres; a new story
    starts in a uniformly random direction."""
    name = "stress case (Gaussian centres, new stories random directions)"

    def __init__(self, n: int, rng):
        self.rng = rng
        self.centers, self.labels, self.vectors = synthetic(n, rng)
        self.stories = len(self.centers)

    def arrivals(self, count: int):
        """New articles: 80 % follow an existing story, 20 % start one (a random direction)."""
        rng = self.rng
        follows = rng.random(count) < 0.8
        base = np.where(follows[:, None], self.centers[rng.integers(0, self.stories, count)],
                        rng.standard_normal((count, DIMS), dtype=np.float32))
        new = base + 0.35 * rng.standard_normal((count, DIMS), dtype=np.float32)
        return new / np.linalg.norm(new, axis=1, keepdims=True), follows


class RealSpread:
    """Real headlines with their within-story residuals (headline − its story's centre, over
    the stories with at least MIN_MEMBERS headlines in the sample, the only ones seeding)."""
    MIN_MEMBERS = 5

    def __init__(self, real: RealHeadlines):
        self.real = real
        stories = real.stories
        counts = np.bincount(stories)
        sums = np.zeros((len(counts), DIMS), dtype=np.float64)
        np.add.at(sums, stories, real.vectors)
        centres = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        self.residuals = real.vectors - centres[stories]
        self.order = np.argsort(stories, kind="stable")  # rows of each story, contiguous
        self.first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.counts = counts
        self.seedable = np.flatnonzero(counts[stories] >= self.MIN_MEMBERS)

    def donors(self, story: np.ndarray, rng) -> np.ndarray:
        """A random real headline of each of these real stories."""
        pick = (rng.random(len(story)) * self.counts[story]).astype(np.int64)
        return self.order[self.first[story] + pick]

    def offsets(self, story: np.ndarray, rng) -> np.ndarray:
        """A blend cos θ·r_a + sin θ·r_b of two real residuals of each story (θ uniform in
        [0, π/2]): real within-story directions, but not the same few over and over (a small
        story would otherwise give exact copies)."""
        theta = rng.uniform(0, np.pi / 2, (len(story), 1)).astype(np.float32)
        return (np.cos(theta) * self.residuals[self.donors(story, rng)]
                + np.sin(theta) * self.residuals[self.donors(story, rng)])

    def members(self, seeds: np.ndarray, scale: float, rng) -> np.ndarray:
        out = np.empty((len(seeds), DIMS), dtype=np.float32)
        for start in range(0, len(seeds), 100_000):
            part = seeds[start:start + 100_000]
            block = self.real.vectors[part] + scale * self.offsets(self.real.stories[part], rng)
            out[start:start + len(part)] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    def fit_scale(self, target: float, pairs: int = 20_000) -> float:
        """The scale at which the median cosine of two members of one synthetic story equals
        `target` (the real same-story median); bisection on one fixed sample of pairs."""
        rng = np.random.default_rng(1)
        seeds = rng.choice(self.seedable, pairs)
        story = self.real.stories[seeds]
        base, r1, r2 = self.real.vectors[seeds], self.offsets(story, rng), self.offsets(story, rng)

        def median_cosine(scale: float) -> float:
            x, y = base + scale * r1, base + scale * r2
            return float(np.median(np.einsum("ij,ij->i", x, y)
                                   / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)))

        low, high = 0.0, 4.0
        if median_cosine(high) > target:
            raise RuntimeError(f"no scale up to {high} brings same-story cosines down to {target:.3f}")
        for _ in range(40):
            middle = (low + high) / 2
            low, high = (middle, high) if median_cosine(middle) > target else (low, middle)
        return (low + high) / 2


class RealisticWorld:
    """Stories grown around real headlines (see the module docstring); new stories are
    held-out real headlines, each of another real story that the index does not hold."""
    name = "realistic (real UCI headline vectors as seeds and new stories)"

    def __init__(self, n: int, rng, spread: RealSpread, scale: float):
        self.rng, self.spread, self.scale = rng, spread, scale
        self.stories = max(1, n // STORY_SIZE)
        self.seeds = rng.choice(spread.seedable, self.stories, replace=self.stories > len(spread.seedable))
        self.labels = rng.integers(0, self.stories, n)
        self.vectors = spread.members(self.seeds[self.labels], scale, rng)
        self._held = rng.permutation(len(spread.real.held_out))
        self._next_held = 0

    def arrivals(self, count: int):
        rng = self.rng
        follows = rng.random(count) < 0.8
        new = self.spread.members(self.seeds[rng.integers(0, self.stories, count)], self.scale, rng)
        starting = int((~follows).sum())
        if self._next_held + starting > len(self._held):
            raise RuntimeError("held-out headlines used up: raise `held` in intel_data.uci_headline_vectors")
        rows = self._held[self._next_held:self._next_held + starting]
        self._next_held += starting
        new[~follows] = self.spread.real.held_out[rows]
        return new, follows


def exact_top(matrix: np.ndarray, keys: np.ndarray, probes: np.ndarray, k: int):
    """Exact top-k keys and cosines of each probe over exactly these rows, in slices."""
    best_scores = np.full((len(probes), 0), -np.inf, dtype=np.float32)
    best_keys = np.zeros((len(probes), 0), dtype=np.int64)
    for start in range(0, len(matrix), 100_000):
        scores = np.concatenate([best_scores, probes @ matrix[start:start + 100_000].T], axis=1)
        part = keys[start:start + 100_000]
        both = np.concatenate([best_keys, np.broadcast_to(part, (len(probes), len(part)))], axis=1)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if scores.shape[1] > k else np.argsort(-scores, axis=1)
        best_scores = np.take_along_axis(scores, top, axis=1)
        best_keys = np.take_along_axis(both, top, axis=1)
    return best_keys, best_scores


class RealWorld:
    """The real headline vectors themselves, no generator: the index holds the sample but for
    HELD_BACK headlines, which come back as the articles following a story (each story keeps at
    least one headline indexed); new stories are the held-out headlines. One size only."""
    name = "real headline vectors (no generator)"
    HELD_BACK = 5_000

    def __init__(self, real: RealHeadlines, rng):
        self.rng, self.real = rng, real
        counts = np.bincount(real.stories)
        back = rng.choice(np.flatnonzero(counts[real.stories] >= 2), self.HELD_BACK * 2, replace=False)
        left = counts.copy()
        keep_back = []
        for row in back.tolist():  # never the last indexed headline of a story
            if left[real.stories[row]] >= 2 and len(keep_back) < self.HELD_BACK:
                left[real.stories[row]] -= 1
                keep_back.append(row)
        indexed = np.ones(len(real.vectors), dtype=bool)
        indexed[keep_back] = False
        self._back = real.vectors[keep_back]
        self.vectors = real.vectors[indexed]
        self.labels = real.stories[indexed]
        self.stories = int(real.stories.max()) + 1
        self._held = rng.permutation(len(real.held_out))
        self._used = {"back": 0, "held": 0}

    def _take(self, pool: str, source: np.ndarray, order, count: int) -> np.ndarray:
        start = self._used[pool]
        if start + count > len(source):
            raise RuntimeError(f"real {pool} headlines used up")
        self._used[pool] += count
        rows = np.arange(start, start + count) if order is None else order[start:start + count]
        return source[rows]

    def arrivals(self, count: int):
        follows = self.rng.random(count) < 0.8
        new = np.empty((count, DIMS), dtype=np.float32)
        new[follows] = self._take("back", self._back, None, int(follows.sum()))
        new[~follows] = self._take("held", self.real.held_out, self._held, int((~follows).sum()))
        return new, follows


def sorted_top(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k highest scores of each row, highest first."""
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)


# -- calibration ----------------------------------------------------------------------------
def same_story_pairs(labels: np.ndarray, vectors: np.ndarray, rng, pairs: int = 20_000) -> np.ndarray:
    """Cosines of random pairs of two different articles of one story (article-weighted)."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    eligible = np.flatnonzero(counts[labels] >= 2)
    one = rng.choice(eligible, pairs)
    story = labels[one]
    other = order[first[story] + (rng.random(pairs) * (counts[story] - 1)).astype(np.int64)]
    other = np.where(other == one, order[first[story] + counts[story] - 1], other)  # never itself
    return np.einsum("ij,ij->i", vectors[one], vectors[other])


def nearest_outside(labels: np.ndarray, vectors: np.ndarray, rng, sample: int = 1_000) -> np.ndarray:
    """Each sampled vector's highest cosine with a vector of another story."""
    rows = rng.choice(len(vectors), sample, replace=False)
    out = []
    for part in np.array_split(rows, max(1, sample // 200)):
        scores = vectors[part] @ vectors.T
        scores[labels[part][:, None] == labels[None, :]] = -np.inf
        out.append(scores.max(axis=1))
    return np.concatenate(out)


def neighbour_cosines(vectors: np.ndarray, probes: np.ndarray, exclude=None) -> np.ndarray:
    """Exact cosines of each probe's 10 nearest vectors (minus its own row when exclude given)."""
    out = []
    for start in range(0, len(probes), 200):
        scores = probes[start:start + 200] @ vectors.T
        if exclude is not None:
            scores[np.arange(len(scores)), exclude[start:start + 200]] = -np.inf
        out.append(np.take_along_axis(scores, sorted_top(scores, 10), axis=1))
    return np.concatenate(out)


def calibration(real: RealHeadlines, spread: RealSpread, scale: float) -> list:
    """Real vectors against both generators at the size of the real sample; each statistic as
    (p10, median, p90)."""
    n = len(real.vectors)
    rng = np.random.default_rng(3)
    realistic = RealisticWorld(n, np.random.default_rng(4), spread, scale)
    stress = StressWorld(n, np.random.default_rng(5))
    # Following probes: real, a sample headline against the others (its story keeps ≥ 1 more);
    # generated, a new member of an existing story. New-story probes: held-out real headlines
    # (real and realistic alike, the same ones), random directions for the stress case.
    counts = np.bincount(real.stories)
    follow_rows = rng.choice(np.flatnonzero(counts[real.stories] >= 2), 1_000, replace=False)
    real_follow = neighbour_cosines(real.vectors, real.vectors[follow_rows], exclude=follow_rows)
    held = real.held_out[:1_000]
    worlds = {"real": (real.stories, real.vectors, real_follow, neighbour_cosines(real.vectors, held))}
    for key, world in (("realistic", realistic), ("stress", stress)):
        probes, follows = world.arrivals(2_000)
        new = held if key == "realistic" else probes[~follows][:1_000]
        worlds[key] = (world.labels, world.vectors, neighbour_cosines(world.vectors, probes[follows][:1_000]),
                       neighbour_cosines(world.vectors, new))
    rows = []
    for title, stat in (
            ("same-story pair cosine", lambda w: same_story_pairs(w[0], w[1], np.random.default_rng(6))),
            ("nearest cosine outside own story", lambda w: nearest_outside(w[0], w[1], np.random.default_rng(7))),
            ("following probe: 1st neighbour cosine", lambda w: w[2][:, 0]),
            ("following probe: 1st − 10th cosine", lambda w: w[2][:, 0] - w[2][:, 9]),
            ("new-story probe: 1st neighbour cosine", lambda w: w[3][:, 0]),
            ("new-story probe: 10th neighbour cosine", lambda w: w[3][:, 9]),
            ("new-story probe: 1st − 10th cosine", lambda w: w[3][:, 0] - w[3][:, 9])):
        rows.append((title, {key: np.percentile(stat(w), [10, 50, 90]) for key, w in worlds.items()}))
    return rows


def print_calibration(real: RealHeadlines, scale: float, rows: list) -> None:
    print(f"\ncalibration at {len(real.vectors):,} vectors ({real.stories.max() + 1:,} real UCI stories sampled; "
          f"{len(real.held_out):,} held-out stories give the new-story probes); "
          f"realistic spread scale {scale:.3f}, fitted to the real same-story median only.")
    print(f"  {'p10 / median / p90':<40} {'real headlines':>20} {'realistic':>20} {'stress case':>20}")
    for title, stats in rows:
        cells = ["{:.2f} / {:.2f} / {:.2f}".format(*stats[key]) for key in ("real", "realistic", "stress")]
        print(f"  {title:<40} " + " ".join(f"{c:>20}" for c in cells))


# -- assignment cost and recall ----------------------------------------------------------------
def indexed_world(world, exact_limit: int):
    """A clusterer holding the world's articles in its index and their stories."""
    from newsstand.intel.clusterer import OnlineClusterer
    from newsstand.intel.index import VectorIndex
    from newsstand.intel.scoring import StoryState

    labels, vectors, rng = world.labels, world.vectors, world.rng
    n, stories = len(vectors), world.stories
    # The production class and path: VectorIndex.add builds the graph with all cores once it
    # passes exact_limit (0: HNSW at every size), exactly as a rebuild from the database does.
    clusterer = OnlineClusterer(index=VectorIndex(DIMS, exact_limit=exact_limit))
    start = time.perf_counter()
    clusterer.index.add(np.arange(n), vectors)
    build = time.perf_counter() - start
    sample = rng.choice(n, 1_000, replace=False)
    assert np.array_equal(clusterer.index.vectors(sample), vectors[sample])
    # Stories already known: sums, counts, first member and time span as the assigner keeps them.
    hours = rng.uniform(0, 24 * 30, n)
    sums = np.zeros((stories, DIMS), dtype=np.float64)
    np.add.at(sums, labels, vectors)
    counts = np.bincount(labels, minlength=stories)
    first_hour = np.full(stories, np.inf)
    last_hour = np.full(stories, -np.inf)
    np.minimum.at(first_hour, labels, hours)
    np.maximum.at(last_hour, labels, hours)
    first_member = np.zeros(stories, dtype=np.int64)
    present, first = np.unique(labels, return_index=True)
    first_member[present] = first
    for s in np.flatnonzero(counts):
        story = StoryState(int(s) + 1, sums[s].astype(np.float32), int(counts[s]))
        story.first_seen = T0 + timedelta(hours=float(first_hour[s]))
        story.last_updated = T0 + timedelta(hours=float(last_hour[s]))
        story.anchor = vectors[first_member[s]]
        clusterer.stories[story.story_id] = story
    clusterer.story_of = dict(zip(range(n), (labels + 1).tolist()))
    clusterer._next_id = stories + 1
    world.vectors = None  # the index holds them now (1.5 GB at 1M)
    return clusterer, build


class Timed:
    """Adds up the time spent in one method of an object, for the duration of a with block."""

    def __init__(self, owner, name: str):
        self.owner, self.name, self.seconds = owner, name, 0.0

    def __enter__(self):
        method = getattr(self.owner, self.name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        setattr(self.owner, self.name, timed)  # an instance attribute hides the method
        return self

    def __exit__(self, *exc):
        delattr(self.owner, self.name)


def assignment_cost(clusterer, world, rounds: int = 3, per_round: int = 200, probes: int = 400) -> dict:
    from newsstand.intel.scoring import ArticleSignals, StoryConfig

    index = clusterer.index
    # Per-article cost: the whole OnlineClusterer.add (search, scoring, index update), in rounds
    # so that a neighbour's burst on this shared machine shows up as one odd round.
    # The first round after a build also pays one-off costs (both the float32 matrix and the
    # graph grow their capacity on the first add past the built size, caches are cold): the
    # figures are the median round's, its split included.
    round_ms, splits = [], []
    for _ in range(rounds):
        new, _ = world.arrivals(per_round)
        first = len(index)  # keys are 0..len-1: the built articles, then those assigned here
        signals = [ArticleSignals(first + q, T0 + timedelta(days=30, minutes=q), new[q], {},
                                  frozenset(), words=300) for q in range(per_round)]
        with Timed(index, "search") as query, Timed(index, "add") as add:
            start = time.perf_counter()
            for s in signals:
                clusterer.add(s)
            elapsed = time.perf_counter() - start
        round_ms.append(elapsed / per_round * 1000)
        splits.append({"query": query.seconds / per_round * 1000, "add": add.seconds / per_round * 1000,
                       "rest": (elapsed - query.seconds - add.seconds) / per_round * 1000})
    split = splits[int(np.argsort(round_ms)[(len(round_ms) - 1) // 2])]
    # Recall@10 against exact search over exactly the vectors now in the index (the n built plus
    # the articles assigned so far), for fresh probes from the same mix that are not in it.
    # (bench only: the index's own rows, not a 1.5 GB copy of them at 1M)
    keys, matrix = index._keys[:len(index)], index._matrix[:len(index)]
    assert np.array_equal(np.sort(keys), np.arange(len(keys)))
    vectors, follows = world.arrivals(probes)
    start = time.perf_counter()
    found = [index.search(v, 10) for v in vectors]
    query_ms = (time.perf_counter() - start) / len(vectors) * 1000
    truth30, scores30 = exact_top(matrix, keys, vectors, 30)
    order = np.argsort(-scores30, axis=1)
    truth30, scores30 = np.take_along_axis(truth30, order, axis=1), np.take_along_axis(scores30, order, axis=1)
    hits = np.array([len(set(t[:10].tolist()) & {k for k, _ in got}) / 10 for t, got in zip(truth30, found)])
    # What assignment actually uses: the 30 nearest above the candidate cosine.
    cut = StoryConfig().min_neighbour_similarity
    usable = [set(t[s >= cut].tolist()) for t, s in zip(truth30, scores30)]
    got30 = [{k for k, _ in index.search(v, 30)} for v in vectors]
    usable_recall = sum(len(u & g) for u, g in zip(usable, got30)) / max(1, sum(map(len, usable)))
    return {"ms": float(np.median(round_ms)), "rounds": round_ms, "split": split, "recall": hits.mean(),
            "recall_follow": hits[follows].mean(), "recall_new": hits[~follows].mean(),
            "usable": usable_recall, "query_ms": query_ms, "backend": index.backend}


def measure(world, exact_limit: int, sweep=()) -> tuple[dict, dict]:
    """The shipped settings, then (same graph) each ef_search of the sweep."""
    from newsstand.intel import index as settings

    clusterer, build = indexed_world(world, exact_limit)
    shipped = assignment_cost(clusterer, world)
    shipped["build"] = build
    others = {}
    ann = clusterer.index._ann  # (bench only: ef_search is a search-time setting of the graph)
    for ef in sweep if ann is not None else ():
        ann.expansion_search = ef
        others[ef] = assignment_cost(clusterer, world, rounds=2)
    if ann is not None:
        ann.expansion_search = settings.EXPANSION_SEARCH
    return shipped, others


def report(n: int, m: dict, label: str = "") -> None:
    rounds = "/".join(f"{r:.2f}" for r in m["rounds"])
    built = f", built in {m['build']:.0f} s" if "build" in m else ""
    split = m["split"]
    print(f"  {label}{n:>9,} vectors: {m['ms']:6.2f} ms/article (median of rounds {rounds}; split: "
          f"query {split['query']:.2f} + index add {split['add']:.2f} + rest {split['rest']:.2f}); "
          f"recall@10 vs exact {m['recall']:.3f} (following a story {m['recall_follow']:.3f}, "
          f"starting one {m['recall_new']:.3f}; neighbours ≥ cutoff among 30: {m['usable']:.3f}), "
          f"query {m['query_ms']:.2f} ms ({m['backend']}{built})", flush=True)


def run_world(make, sizes, sweep) -> dict:
    results = {}
    for n in sizes:
        world = make(n)
        results[n], others = measure(world, 0, sweep)
        del world
        report(n, results[n])
        for ef, m in others.items():
            report(n, m, f"   ef_search {ef:>4}: ")
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"  cost ratio {large:,} / {small:,}: {results[large]['ms'] / results[small]['ms']:.2f} (target ≤ 1.5)")
    return results


# -- the worker's assignment step: database and index, as production runs it -----------------
class WorkerWorld:
    """The realistic generator, ordered story by story so that the first n articles are whole
    stories (~n/20 of them, ~20 articles each): the database grows by prefixes. Each article is
    titled with a real headline of its seed's real story (articles are headlines, as in UCI)."""

    def __init__(self, n: int, rng, spread: RealSpread, scale: float):
        self.world = RealisticWorld(n, rng, spread, scale)
        self.spread, self.rng = spread, rng
        order = np.argsort(self.world.labels, kind="stable")
        self.labels = self.world.labels[order]
        self.vectors = self.world.vectors[order]
        self.world.vectors = None
        self.titles = self._titles(self.world.seeds[self.labels])
        # A story's articles appear within two days of its start, its start within the last 30.
        self.story_hours = rng.uniform(0, 24 * 30, self.world.stories)
        self.offset_hours = rng.uniform(0, 48, n)

    def _titles(self, seeds: np.ndarray) -> list[str]:
        real = self.spread.real
        return [real.titles[r] for r in self.spread.donors(real.stories[seeds], self.rng).tolist()]

    def arrivals(self, count: int, stories_present: int):
        """80 % follow one of the stories already stored, 20 % start one (held-out headlines)."""
        world, real = self.world, self.spread.real
        follows = self.rng.random(count) < 0.8
        seeds = world.seeds[self.rng.integers(0, stories_present, count)]
        vectors = self.spread.members(seeds, world.scale, self.rng)
        titles = self._titles(seeds)
        starting = np.flatnonzero(~follows)
        rows = world._held[world._next_held:world._next_held + len(starting)]
        if len(rows) < len(starting):
            raise RuntimeError("held-out headlines used up: raise `held` in intel_data.uci_headline_vectors")
        world._next_held += len(starting)
        vectors[starting] = real.held_out[rows]
        for i, row in zip(starting.tolist(), rows.tolist()):
            titles[i] = real.held_titles[row]
        return vectors, titles


def grow_database(world: WorkerWorld, start: int, end: int, now: datetime, sources: list[int], story_pks: dict,
                  term_documents) -> list:
    """Store articles start..end-1 with their stories, profiles and term statistics as the
    assigner leaves them (computed here in bulk); returns the new article ids."""
    from newsstand.intel.embed import to_bytes
    from newsstand.intel.entities import extract_entities
    from newsstand.intel.models import StoryProfile, TermStat
    from newsstand.intel.scoring import StoryState, story_rank
    from newsstand.intel.signals import article_signals
    from newsstand.intel.text import ArticleText
    from newsstand.news.models import Article, ExtractionStatus, Story

    labels = world.labels
    begin = int(np.searchsorted(labels, labels[start]))  # a story cut by the last prefix: all of it
    published = [now - timedelta(hours=float(world.story_hours[labels[i]] - world.offset_hours[i]))
                 for i in range(begin, end)]
    states: dict[int, StoryState] = {}
    outlets: dict[int, set] = {}
    for i in range(begin, end):
        label = int(labels[i])
        title = world.titles[i]
        when = min(now, published[i - begin])
        source = sources[i % len(sources)]
        signals = article_signals(i, ArticleText(title, ""), when, world.vectors[i], source_id=source,
                                  entities=extract_entities(title, ""))
        state = states.setdefault(label, StoryState(0, np.zeros(DIMS, dtype=np.float32)))
        state.add(signals)
        outlets.setdefault(label, set()).add(source)
        if i >= start:
            term_documents.update(signals.terms)
            term_documents[""] += 1
    def fields(label: int) -> dict:
        state, count = states[label], len(outlets[label])
        return dict(article_count=state.count, source_count=count, first_seen_at=state.first_seen,
                    last_updated_at=state.last_updated, score=story_rank(count, state.count, state.last_updated))

    new_labels = [label for label in states if label not in story_pks]
    for label in states.keys() - set(new_labels):  # the one story the last prefix cut
        Story.objects.filter(pk=story_pks[label]).update(**fields(label))
    for chunk in range(0, len(new_labels), 5000):
        part = new_labels[chunk:chunk + 5000]
        made = Story.objects.bulk_create([Story(headline=world.titles[int(np.searchsorted(labels, label))],
                                                **fields(label)) for label in part])
        story_pks.update((label, story.pk) for label, story in zip(part, made))
    StoryProfile.objects.filter(story_id__in=[story_pks[label] for label in states]).delete()
    StoryProfile.objects.bulk_create([
        StoryProfile(story_id=story_pks[label], vector_sum=to_bytes(state.vector_sum), vector_count=state.count,
                     anchor=to_bytes(state.anchor), entities=state.entities, terms=state.terms)
        for label, state in states.items()], batch_size=2000)
    ids = []
    for chunk in range(start, end, 5000):
        rows = range(chunk, min(end, chunk + 5000))
        made = Article.objects.bulk_create([
            Article(source_id=sources[i % len(sources)], url=f"https://outlet{i % len(sources)}.example/{i}",
                    title=world.titles[i],
                    published_at=min(now, published[i - begin]), first_seen_at=now, text="",
                    extraction_status=ExtractionStatus.FEED_ONLY, embedding=to_bytes(world.vectors[i]),
                    story_id=story_pks[int(labels[i])]) for i in rows])
        ids += [a.pk for a in made]
    TermStat.objects.all().delete()
    TermStat.objects.bulk_create([TermStat(term=t[:100], documents=d) for t, d in term_documents.items()],
                                 batch_size=5000, ignore_conflicts=True)
    return ids


def worker_assignment(world: WorkerWorld, sizes, rounds: int = 5, per_round: int = 100) -> dict:
    """Per-article cost of the worker's assignment step (process_intel's: the index add, then
    assign_story under the assigner lock: neighbours, candidate stories and their profiles
    from the database, term statistics, the decision, the story and its profile written back)
    with a SQLite database holding 10k, 100k, 1M articles and their stories. The article rows
    and signals of the arrivals are made before the clock starts (ingest and tagging do that).
    A first round at each size is run and reported but not counted: right after the bulk
    build the database's pages are on disk rather than in memory (1M articles are 2.7 GB)
    and the index's arrays grow to the new size, neither of which a worker that has been
    running meets per article."""
    from collections import Counter

    from newsstand.ingest.models import Source
    from newsstand.intel.entities import extract_entities
    from newsstand.intel.scoring import StoryConfig
    from newsstand.intel.signals import article_signals
    from newsstand.intel.stories import assign_story, assigner_lock
    from newsstand.intel.text import ArticleText
    from newsstand.intel.vectors import ArticleVectors
    from newsstand.news.models import Article, ExtractionStatus

    sources = [Source.objects.create(name=f"Outlet {i}").pk for i in range(200)]
    now = datetime.now(timezone.utc)
    vectors = ArticleVectors(Path(tempfile.mkdtemp(prefix="newsstand-bench-index-")))
    config = StoryConfig()
    story_pks: dict[int, int] = {}
    term_documents: Counter = Counter()
    stored, results = 0, {}
    for n in sorted(sizes):
        start = time.perf_counter()
        ids = grow_database(world, stored, n, now, sources, story_pks, term_documents)
        vectors.index.add(ids, world.vectors[stored:n])
        grown = time.perf_counter() - start
        stored = n
        stories_present = int(world.labels[n - 1])  # whole stories only
        round_ms, splits = [], []
        for r in range(rounds + 1):
            new, titles = world.arrivals(per_round, stories_present)
            moment = now + timedelta(minutes=len(results) * 100 + r)
            articles = Article.objects.bulk_create([
                Article(source_id=sources[q % len(sources)], url=f"https://outlet{q % len(sources)}.example/new/{n}/{r}/{q}",
                        title=title, published_at=moment, first_seen_at=moment, text="",
                        extraction_status=ExtractionStatus.FEED_ONLY) for q, title in enumerate(titles)])
            signals = [article_signals(a.pk, ArticleText(a.title, ""), moment, v, source_id=a.source_id,
                                       entities=extract_entities(a.title, "")) for a, v in zip(articles, new)]
            with Timed(vectors.index, "search") as query, Timed(vectors.index, "add") as add:
                begin = time.perf_counter()
                for article, s in zip(articles, signals):
                    vectors.add(article.pk, s.vector)
                    with assigner_lock():
                        assign_story(article, s, vectors, config)
                elapsed = time.perf_counter() - begin
            round_ms.append(elapsed / per_round * 1000)
            splits.append({"query": query.seconds / per_round * 1000, "add": add.seconds / per_round * 1000,
                           "rest": (elapsed - query.seconds - add.seconds) / per_round * 1000})
        warm_up, round_ms, splits = round_ms[0], round_ms[1:], splits[1:]
        split = splits[int(np.argsort(round_ms)[(len(round_ms) - 1) // 2])]
        results[n] = {"ms": float(np.median(round_ms)), "rounds": round_ms, "warm_up": warm_up, "split": split,
                      "grown": grown, "indexed": len(vectors.index), "backend": vectors.index.backend}
        rounds_text = "/".join(f"{x:.2f}" for x in round_ms)
        print(f"  {n:>9,} articles stored ({len(story_pks):,} stories, grown in {grown:.0f} s): "
              f"{results[n]['ms']:6.2f} ms/article (median of rounds {rounds_text}, after a warm-up round at "
              f"{warm_up:.2f}; split: index query "
              f"{split['query']:.2f} + index add {split['add']:.2f} + database and scoring {split['rest']:.2f}; "
              f"{results[n]['backend']})", flush=True)
    small, large = min(results), max(results)
    print(f"  cost ratio {large:,} / {small:,}: {results[large]['ms'] / results[small]['ms']:.2f} (target ≤ 1.5)")
    return results


def summary(name: str, results: dict) -> None:
    print(f"\n {name}:")
    print(f"  {'vectors':>9} {'recall@10':>9} {'follow':>7} {'new':>7} {'query ms':>8} {'ms/article':>10} "
          f"{'= query':>8} {'+ add':>7} {'+ rest':>7}")
    for n, m in sorted(results.items()):
        s = m["split"]
        print(f"  {n:>9,} {m['recall']:>9.3f} {m['recall_follow']:>7.3f} {m['recall_new']:>7.3f} "
              f"{m['query_ms']:>8.2f} {m['ms']:>10.2f} {s['query']:>8.2f} {s['add']:>7.2f} {s['rest']:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="index sizes for the realistic generator")
    parser.add_argument("--stress-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="index sizes for the stress case (none: skip it)")
    parser.add_argument("--worker-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                        help="database sizes for the worker's assignment step (none: skip it)")
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure on the real vectors themselves, and the realistic generator at their size")
    parser.add_argument("--skip-embedding", action="store_true")
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument("--sweep", type=int, nargs="*", default=[],
                        help="also measure these ef_search values on the same graphs (two rounds each)")
    # Bench only, for tuning: other graph settings than index.py's (the printed header says which).
    parser.add_argument("--ef-add", type=int)
    parser.add_argument("--connectivity", type=int)
    parser.add_argument("--rerank", type=int)
    args = parser.parse_args()
    setup_django()
    from newsstand.intel import index as settings

    for option, name in (("ef_add", "EXPANSION_ADD"), ("connectivity", "CONNECTIVITY"), ("rerank", "RERANK_CANDIDATES")):
        if getattr(args, option) is not None:
            setattr(settings, name, getattr(args, option))
    if not args.skip_embedding:
        embedding_throughput()
    real = uci_headline_vectors()
    spread = RealSpread(real)
    scale = spread.fit_scale(float(np.median(same_story_pairs(real.stories, real.vectors, np.random.default_rng(6)))))
    if not args.skip_calibration:
        print_calibration(real, scale, calibration(real, spread, scale))
    if args.worker_sizes:
        print("\nthe worker's assignment step per article, database and index (SQLite):")
        top = max(args.worker_sizes)
        worker = worker_assignment(WorkerWorld(top, np.random.default_rng(top), spread, scale), args.worker_sizes)
        if not all(np.isfinite(m["ms"]) for m in worker.values()):
            print("the worker's assignment cost could not be measured", file=sys.stderr)
            sys.exit(1)
    print("\nstory assignment per article, in memory (candidates from the index, scoring, index update):")
    print(f" HNSW (usearch {settings.ANN_DTYPE}, M={settings.CONNECTIVITY}, ef_add={settings.EXPANSION_ADD}, "
          f"ef_search={settings.EXPANSION_SEARCH}, exact re-rank of {settings.RERANK_CANDIDATES}) at every size")
    worlds = {}
    if args.real:
        print(f" {RealWorld.name}:")
        real_world = RealWorld(real, np.random.default_rng(8))
        size = len(real_world.vectors)
        worlds[RealWorld.name] = run_world(lambda n: real_world, [size], args.sweep)
        if args.sizes:
            print(f" {RealisticWorld.name}, same size:")
            worlds[RealisticWorld.name + ", same size"] = run_world(
                lambda n: RealisticWorld(n, np.random.default_rng(n), spread, scale), [size],
                args.sweep)
        del real_world
    if args.sizes:
        print(f" {RealisticWorld.name}:")
        worlds[RealisticWorld.name] = run_world(
            lambda n: RealisticWorld(n, np.random.default_rng(n), spread, scale), args.sizes, args.sweep)
    if args.stress_sizes:
        print(f" {StressWorld.name}:")
        worlds[StressWorld.name] = run_world(lambda n: StressWorld(n, np.random.default_rng(n)),
                                             args.stress_sizes, args.sweep)
    print("\nsummary at the settings above (ms per article = query + index add + rest, median round):")
    for name, results in worlds.items():
        summary(name, results)
    small = min(args.sizes, default=None)
    if small is not None and small <= settings.EXACT_LIMIT:
        print(f"\n as shipped, exact scan below {settings.EXACT_LIMIT:,} (realistic):")
        report(small, measure(RealisticWorld(small, np.random.default_rng(small), spread, scale),
                              settings.EXACT_LIMIT)[0])
        print("  (HNSW above it, as measured)")
    measured = [m for results in worlds.values() for m in results.values()]
    if (not measured and not args.worker_sizes) or any(not np.isfinite([m["ms"], m["recall"], m["query_ms"]]).all() for m in measured):
        print("some figure could not be measured", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

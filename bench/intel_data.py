"""Shared by the intel benchmarks: the gold datasets as plain records, BCubed scoring, and an
embedding cache (so tuning runs do not re-encode; a figure run can pass --no-cache)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
CACHE = ROOT / "var" / "bench-cache"
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass(frozen=True)
class Doc:
    id: str
    title: str
    body: str
    label: str          # gold story
    source: str
    published: datetime
    split: str = ""
    keywords: tuple[str, ...] = ()
    main_entities: tuple[str, ...] = ()


def ecbplus() -> list[Doc]:
    docs = []
    with gzip.open(DATASETS / "ecbplus-event-clusters" / "ecbplus_documents.jsonl.gz", "rt") as handle:
        for line in handle:
            row = json.loads(line)
            sentences = row["sentences"]
            docs.append(Doc(row["doc_id"], sentences[0], " ".join(sentences[1:]), row["subtopic"],
                            row["doc_id"], datetime(2020, 1, 1, tzinfo=timezone.utc),
                            row["split_cybulska_vossen_2015"]))
    # No dates: a fixed shuffle stands for arrival order (topics would otherwise arrive whole).
    order = np.random.default_rng(7).permutation(len(docs))
    return [docs[i] for i in order]


def basil() -> list[Doc]:
    docs = []
    with gzip.open(DATASETS / "basil-story-triplets" / "basil_articles.jsonl.gz", "rt") as handle:
        for line in handle:
            row = json.loads(line)
            published = datetime.fromisoformat(row["date"]).replace(hour=12, tzinfo=timezone.utc)
            keywords = tuple(k.strip() for k in (row.get("keywords") or "").split(",") if k.strip()) \
                if isinstance(row.get("keywords"), str) else tuple(row.get("keywords") or ())
            docs.append(Doc(row["article_uuid"], row["title"] or "", "\n".join(row["paragraphs"]),
                            row["story_id"], row["source"], published, keywords=keywords,
                            main_entities=tuple(row.get("main_entities") or ())))
    # Three upstream uuids are shared by two files each: keep every article, with a unique id.
    seen: dict[str, int] = {}
    unique = []
    for d in docs:
        seen[d.id] = seen.get(d.id, 0) + 1
        unique.append(d if seen[d.id] == 1 else Doc(f"{d.id}#{seen[d.id]}", d.title, d.body, d.label, d.source,
                                                      d.published, d.split, d.keywords, d.main_entities))
    return sorted(unique, key=lambda d: (d.published, d.id))


def uci_window() -> list[Doc]:
    docs = []
    path = DATASETS / "uci-news-aggregator" / "news_aggregator_2014-03-10_to_2014-03-13_with_urls.tsv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 8:
                continue
            rid, title, _url, publisher, _cat, story, _host, stamp = parts[:8]
            docs.append(Doc(rid, title, "", story, publisher,
                            datetime.fromtimestamp(int(stamp) / 1000, tz=timezone.utc)))
    return sorted(docs, key=lambda d: (d.published, int(d.id)))


def uci_dev_window(first_day: str = "2014-04-07", days: int = 2) -> list[Doc]:
    """Headlines of the stories that lie wholly inside a window of the full file, disjoint
    from the 177-story test window: tuning data for headline-only clustering."""
    import lzma

    start = datetime.fromisoformat(first_day).replace(tzinfo=timezone.utc).timestamp() * 1000
    end = start + days * 86400_000
    rows, inside, outside = [], set(), set()
    with lzma.open(DATASETS / "uci-news-aggregator" / "news_aggregator_all_nourl.tsv.xz", "rt",
                   encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 7:
                continue
            rid, title, publisher, _cat, story, _host, stamp = parts[:7]
            if start <= int(stamp) < end:
                rows.append(Doc(rid, title, "", story, publisher,
                                datetime.fromtimestamp(int(stamp) / 1000, tz=timezone.utc)))
                inside.add(story)
            else:
                outside.add(story)
    return sorted((d for d in rows if d.label not in outside), key=lambda d: (d.published, int(d.id)))


def background_texts() -> list[tuple[str, str]]:
    """(title, body) of news that no evaluation set contains (XSum's BBC test articles, Wikinews
    2019-2021): document frequencies only, never labels, for the IDF a running instance has
    from its history."""
    texts = []
    with gzip.open(DATASETS / "xsum-test-helm1k" / "xsum_test_helm1k.jsonl.gz", "rt") as handle:
        texts += [("", json.loads(line)["document"]) for line in handle]
    with gzip.open(DATASETS / "wikinews-cc-by" / "wikinews_en_2019_2021.jsonl.gz", "rt") as handle:
        texts += [(row["title"], row["text"]) for row in map(json.loads, handle)]
    return texts


def bcubed(predicted: dict[str, object], gold: dict[str, str]) -> tuple[float, float, float]:
    by_pred: dict[object, set] = {}
    by_gold: dict[str, set] = {}
    for item, cluster in predicted.items():
        by_pred.setdefault(cluster, set()).add(item)
        by_gold.setdefault(gold[item], set()).add(item)
    precision = recall = 0.0
    for item in predicted:
        mine, truth = by_pred[predicted[item]], by_gold[gold[item]]
        common = len(mine & truth)
        precision += common / len(mine)
        recall += common / len(truth)
    n = len(predicted)
    precision, recall = precision / n, recall / n
    return precision, recall, 2 * precision * recall / (precision + recall)


def embed_docs(name: str, docs: list[Doc], texts: list[str], *, use_cache: bool = True) -> np.ndarray:
    from newsstand.intel.embed import SentenceTransformerEmbedder

    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{digest}.npy"
    if use_cache and path.exists():
        return np.load(path)
    vectors = SentenceTransformerEmbedder().encode(texts)
    if use_cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def tfidf(texts: list[str]) -> list[dict[str, float]]:
    """Plain TF-IDF (sublinear tf, smoothed idf, l2-normalized, English stop words removed), as
    scikit-learn's TfidfVectorizer computes it; written here so the benchmarks need nothing more."""
    import math
    from collections import Counter

    from newsstand.intel.text import STOPWORDS, words

    counts = [Counter(w for w in words(t) if len(w) > 1 and w not in STOPWORDS) for t in texts]
    df = Counter(term for c in counts for term in c)
    n = len(texts)
    out = []
    for c in counts:
        vec = {t: (1 + math.log(tf)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, tf in c.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        out.append({t: v / norm for t, v in vec.items()})
    return out


@dataclass
class RealHeadlines:
    """Embedded UCI headlines: a sample of the headlines of most real stories (the pool), and
    one headline of each of the other, held-out stories, none of which the pool contains."""
    vectors: np.ndarray         # (pool, 384) float32, unit length
    stories: np.ndarray         # (pool,) int: the real story of each pool vector
    held_out: np.ndarray        # (held, 384): one headline of each held-out story
    titles: tuple[str, ...] = ()       # the pool's headlines, row for row
    held_titles: tuple[str, ...] = ()  # the held-out headlines, row for row


BENCH_CACHE = Path(os.environ.get("NEWSSTAND_BENCH_CACHE", Path.home() / ".cache" / "newsstand-bench"))


def uci_headline_vectors(pool: int = 110_000, held: int = 1_500, seed: int = 2014) -> RealHeadlines:
    """`held` UCI stories are set aside and give one headline each; `pool` headlines are drawn
    at random from all the others (so every story keeps ~1/4 of its headlines and the pool spans
    ~5,700 real stories). Embedded with the production embedder, headline only (as
    `embedding_input` makes it for an article without body), and cached under
    ~/.cache/newsstand-bench/: computed once, about 5 minutes on 2 cores."""
    import lzma

    titles, story_names = [], []
    with lzma.open(DATASETS / "uci-news-aggregator" / "news_aggregator_all_nourl.tsv.xz", "rt",
                   encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 7:
                titles.append(parts[1])
                story_names.append(parts[4])
    names, story = np.unique(np.asarray(story_names), return_inverse=True)
    rng = np.random.default_rng(seed)
    held_stories = rng.permutation(len(names))[:held]
    is_held = np.zeros(len(names), dtype=bool)
    is_held[held_stories] = True
    candidates = np.flatnonzero(~is_held[story])
    chosen = np.sort(rng.choice(candidates, pool, replace=False))
    held_rows = [rng.choice(np.flatnonzero(story == s)) for s in held_stories]
    from newsstand.intel.text import ArticleText, embedding_input

    texts = [embedding_input(ArticleText(titles[i], "")) for i in list(chosen) + held_rows]
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = BENCH_CACHE / f"uci-headlines-minilm-{digest}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        import time

        from newsstand.intel.embed import SentenceTransformerEmbedder

        unique = sorted(set(texts))  # syndicated headlines repeat: each text once
        print(f"embedding {len(unique):,} distinct UCI headlines once (cached as {path}) ...", flush=True)
        start = time.perf_counter()
        encoded = SentenceTransformerEmbedder(batch_size=128).encode(unique)
        print(f"  {len(unique) / (time.perf_counter() - start):.0f} headlines/s", flush=True)
        row = {text: i for i, text in enumerate(unique)}
        vectors = encoded[[row[t] for t in texts]]
        BENCH_CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path.with_suffix(".tmp.npy"), vectors)
        os.replace(path.with_suffix(".tmp.npy"), path)
    _, pool_story = np.unique(story[chosen], return_inverse=True)
    return RealHeadlines(vectors[:pool], pool_story, vectors[pool:], tuple(titles[i] for i in chosen),
                         tuple(titles[i] for i in held_rows))

"""Main-text extraction quality: our extract_page against plain trafilatura, same run.

Data: ../shared/datasets/article-extraction-benchmark (Zyte; 181 pages with gold article bodies).
Metric: upstream's 4-gram shingle precision/recall/F1, re-implemented from its README (tokens are
Unicode `\\w+`, shingles kept with counts, P and R averaged over pages, F1 from the averages).
`--check-scorer` scores upstream's stored predictions, which must reproduce the published
figures (trafilatura 2.0.0: 0.958 / 0.938 / 0.978) before any number here means anything.

    .venv/bin/python bench/extraction_f1.py              # baseline vs ours
    .venv/bin/python bench/extraction_f1.py --tune       # also every Tuning variant we tried
    .venv/bin/python bench/extraction_f1.py --check-scorer
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "article-extraction-benchmark"
BEST_PUBLISHED_F1 = 0.970  # rs_trafilatura, upstream README
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: str
    gold: str


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    pages: int


# --- scoring (upstream's definition) -----------------------------------------------------------


def shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def page_counts(predicted: str, gold: str) -> tuple[int, int, int]:
    """True positives, false positives, false negatives of one page, as shingle multisets."""
    ours, theirs = shingles(predicted), shingles(gold)
    return sum((ours & theirs).values()), sum((ours - theirs).values()), sum((theirs - ours).values())


def score(predictions: Iterable[tuple[str, str]]) -> Scores:
    """Mean per-page precision and recall over (predicted, gold) pairs; F1 from the means."""
    precisions: list[float] = []
    recalls: list[float] = []
    pages = 0
    for predicted, gold in predictions:
        pages += 1
        tp, fp, fn = page_counts(predicted, gold)
        if fp == 0 and fn == 0:  # upstream: a perfect (or doubly empty) page counts as 1 and 1
            precisions.append(1.0)
            recalls.append(1.0)
            continue
        if tp + fp:  # an empty prediction has no precision, only a recall of 0
            precisions.append(tp / (tp + fp))
        if tp + fn:
            recalls.append(tp / (tp + fn))
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    return Scores(p, r, 2 * p * r / (p + r) if p + r else 0.0, pages)


# --- data --------------------------------------------------------------------------------------


def load_pages(dataset: Path = DATASET, limit: int | None = None) -> list[Page]:
    gold = json.loads(gzip.decompress((dataset / "ground-truth.json.gz").read_bytes()))
    pages = []
    for page_id in sorted(gold)[:limit]:
        raw = gzip.decompress((dataset / "html" / f"{page_id}.html.gz").read_bytes())
        entry = gold[page_id]
        pages.append(Page(page_id, entry["url"], raw.decode("utf-8", "replace"), entry["articleBody"]))
    return pages


# --- extractors --------------------------------------------------------------------------------


def baseline_text(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html) or ""


def ours_factory(tuning=None) -> Callable[[Page], str]:
    from newsstand.ingest.extract import TUNING, ExtractionError, extract_page

    chosen = tuning or TUNING

    def ours(page: Page) -> str:
        try:
            return extract_page(page.html, page.url, chosen).text
        except ExtractionError:
            return ""

    return ours


def run_pair(pages: list[Page], first: Callable[[Page], str], second: Callable[[Page], str]):
    """Run both extractors page by page, alternating which goes first, so that a noisy
    neighbour on the shared cores slows both alike and the time ratio stays meaningful."""
    outputs: tuple[list[str], list[str]] = ([], [])
    seconds = [0.0, 0.0]
    for index, page in enumerate(pages):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            extractor = (first, second)[which]
            start = time.perf_counter()
            outputs[which].append(extractor(page))
            seconds[which] += time.perf_counter() - start
    return outputs, seconds


def scored(pages: list[Page], texts: list[str]) -> Scores:
    return score(zip(texts, (page.gold for page in pages), strict=True))


# --- reports -----------------------------------------------------------------------------------


def row(name: str, scores: Scores) -> str:
    return f"{name:<34} P {scores.precision:.3f}  R {scores.recall:.3f}  F1 {scores.f1:.3f}"


def compare(pages: list[Page]) -> None:
    (base_texts, our_texts), (base_s, our_s) = run_pair(pages, baseline_text, ours_factory())
    base, ours = scored(pages, base_texts), scored(pages, our_texts)
    print(f"{len(pages)} pages from {DATASET}")
    print(row("(a) trafilatura.extract(html)", base))
    print(row("(b) newsstand extract_page().text", ours))
    print(f"F1 ours {ours.f1:.4f} / baseline {base.f1:.4f} = ratio {ours.f1 / base.f1:.3f}")
    print(f"gap to best published F1 {BEST_PUBLISHED_F1}: {ours.f1 - BEST_PUBLISHED_F1:+.4f}")
    print(f"speed ratio ours/baseline (pages/s): {base_s / our_s:.2f}")
    print("  (ours also reads metadata, places the page's images and sanitizes)")
    if ours.f1 < base.f1:
        print("FAIL: ours is worse than plain trafilatura defaults", file=sys.stderr)
        raise SystemExit(1)


def tune(pages: list[Page]) -> None:
    from newsstand.ingest.extract import TUNING, Tuning

    variants = {
        "chosen (TUNING)": TUNING,
        "trafilatura defaults via ours": Tuning(
            favor_precision=False, include_links=False, retry_words=0,
            place_images=False, drop_title_heading=False,
        ),
        "favor_precision off": replace(TUNING, favor_precision=False),
        "favor_recall": replace(TUNING, favor_precision=False, favor_recall=True),
        "no retry when thin": replace(TUNING, retry_words=0),
        "retry below 200 words": replace(TUNING, retry_words=200),
        "trafilatura's inline images": replace(TUNING, include_images=True, place_images=False),
        "no images at all": replace(TUNING, place_images=False),
        "no tables": replace(TUNING, include_tables=False),
        "no links": replace(TUNING, include_links=False),
        "deduplicate": replace(TUNING, deduplicate=True),
        "fast, never compare": replace(TUNING, fast=True, compare_below_words=0),
        "fast, compare below 100 words": replace(TUNING, fast=True, compare_below_words=100),
        "always compare (fast off)": replace(TUNING, fast=False),
        "keep title heading": replace(TUNING, drop_title_heading=False),
    }  # fmt: skip
    for name, tuning in variants.items():
        extractor = ours_factory(tuning)
        start = time.perf_counter()
        texts = [extractor(page) for page in pages]
        elapsed = time.perf_counter() - start
        print(f"{row(name, scored(pages, texts))}  {len(pages) / elapsed:6.1f} pages/s")


def check_scorer() -> None:
    gold = {page.id: page.gold for page in load_pages()}
    for path in sorted((DATASET / "reference-outputs").glob("*.json.gz")):
        stored = json.loads(gzip.decompress(path.read_bytes()))
        stored = stored.get("output", stored)
        predicted = {key: (value or {}).get("articleBody", "") for key, value in stored.items()}
        pairs = ((predicted.get(key, ""), text) for key, text in gold.items())
        print(row(path.name.removesuffix(".json.gz"), score(pairs)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tune", action="store_true", help="also score each tuning variant")
    parser.add_argument("--check-scorer", action="store_true", help="score upstream's stored outputs")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    args = parser.parse_args()
    if not DATASET.is_dir():
        raise SystemExit(f"The benchmark data is missing: {DATASET} does not exist")
    if args.check_scorer:
        check_scorer()
        return
    pages = load_pages(limit=args.limit)
    compare(pages)
    if args.tune:
        tune(pages)


if __name__ == "__main__":
    main()

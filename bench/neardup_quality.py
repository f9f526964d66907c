"""Near-duplicate detection: precision and recall on pairs built from the gold datasets.

Positives: reprints of BASIL and ECB+ articles with the light edits syndication makes (a
dateline and credit added, a few words changed, the last paragraph cut, whitespace and quotes
re-typed), at three edit strengths. Negatives: different articles on the same story (the
other outlets of a BASIL triplet, other documents of an ECB+ event), the case that must not
merge. Baselines in the same run: the exact content hash ingest already applies, and LSH
candidates without the exact-Jaccard verification. Targets: precision ≥ 0.95, recall ≥ 0.9.

    .venv/bin/python bench/neardup_quality.py
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import time

from intel_data import basil, ecbplus

FILLER = ["reportedly", "also", "now", "officially", "again", "still", "recently"]


def edit(text: str, strength: int, rng: random.Random) -> str:
    paragraphs = [p for p in text.split("\n") if p.strip()] or [text]
    if strength >= 2 and len(paragraphs) > 3:
        paragraphs = paragraphs[:-1]  # the syndicator cut the last paragraph
    words = " ".join(paragraphs).split()
    changes = {1: 0.01, 2: 0.03, 3: 0.06}[strength]
    for _ in range(max(1, int(len(words) * changes))):
        i = rng.randrange(len(words))
        action = rng.random()
        if action < 0.4:
            words[i] = rng.choice(FILLER)
        elif action < 0.7:
            words.insert(i, rng.choice(FILLER))
        elif len(words) > 30:
            del words[i]
    body = " ".join(words).replace('"', "“")
    return f"WASHINGTON (AP) — {body}\n\nCopyright {rng.randint(2010, 2019)} The Associated Press."


def content_hash(text: str) -> str:
    return hashlib.sha256(re.sub(r"\s+", " ", text).strip().lower().encode()).hexdigest()


def main() -> None:
    from newsstand.intel.neardup import THRESHOLD, fingerprint
    from newsstand.intel.text import jaccard

    rng = random.Random(5)
    docs = [d for d in basil() + ecbplus() if len(d.body.split()) >= 100]
    positives = [(d.body, edit(d.body, strength, rng), f"edit strength {strength}")
                 for d in docs for strength in (1, 2, 3)]
    by_label: dict[str, list] = {}
    for d in docs:
        by_label.setdefault(d.label, []).append(d)
    negatives = []
    for group in by_label.values():
        pairs = list(itertools.combinations(group, 2))
        rng.shuffle(pairs)
        negatives += [(a.body, b.body, "same story, other article") for a, b in pairs[:6]]
    pairs = [(a, b, kind, True) for a, b, kind in positives] + [(a, b, kind, False) for a, b, kind in negatives]
    print(f"{len(positives)} reprint pairs from {len(docs)} articles, {len(negatives)} same-story pairs")
    start = time.perf_counter()
    results = {"ours (LSH + verified Jaccard)": [], "LSH candidates only": [], "exact content hash": []}
    per_kind: dict[str, list[bool]] = {}
    for a, b, kind, truth in pairs:
        fa, fb = fingerprint(a), fingerprint(b)
        candidate = bool(set(fa.bands) & set(fb.bands))
        ours = candidate and jaccard(fa.shingles, fb.shingles) >= THRESHOLD
        results["ours (LSH + verified Jaccard)"].append((ours, truth))
        results["LSH candidates only"].append((candidate, truth))
        results["exact content hash"].append((content_hash(a) == content_hash(b), truth))
        per_kind.setdefault(kind, []).append(ours)
    elapsed = time.perf_counter() - start
    for name, outcomes in results.items():
        tp = sum(p and t for p, t in outcomes)
        fp = sum(p and not t for p, t in outcomes)
        fn = sum(t and not p for p, t in outcomes)
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(f"  {name:<32} precision {precision:.3f}  recall {tp / (tp + fn):.3f}")
    for kind, flags in sorted(per_kind.items()):
        print(f"    {kind:<28} flagged as duplicate: {sum(flags) / len(flags):.3f} of {len(flags)}")
    print(f"  {elapsed / len(pairs) * 1000:.2f} ms per pair (two fingerprints and a comparison)")


if __name__ == "__main__":
    main()

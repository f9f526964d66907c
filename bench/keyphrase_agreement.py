"""Hashtag quality: agreement of our tags (entities + YAKE topics, normalized and merged) with
what BASIL says an article is about, against plain YAKE given the same number of phrases.

- Publisher keywords (53 BASIL articles carry them): precision (share of our tags that match
  a keyword) and recall (share of keywords matched, capped at the number of tags).
- Annotated main entities (all 300 articles): share found among the tags.
A tag matches a keyword when their normalized forms are equal or one contains the other
(e.g. #Blumenthal and "Blumenthal, Richard").

    .venv/bin/python bench/keyphrase_agreement.py
"""

from __future__ import annotations

import re
import time

from intel_data import basil


def norm(text: str) -> str:
    from newsstand.intel.entities import slugify

    return slugify(text)


def matches(tag: str, keyword: str) -> bool:
    a, b = norm(tag), norm(keyword)
    if not a or not b:
        return False
    if a == b:
        return True
    # "Blumenthal, Richard" / #RichardBlumenthal; "Sestak, Joe" / #Sestak
    words_b = [norm(w) for w in re.split(r"[\s,]+", keyword) if len(w) > 2]
    return (len(a) >= 4 and a in b) or (len(b) >= 4 and b in a) or (bool(words_b) and all(w in a for w in words_b))


def score(predicted: list[list[str]], gold: list[list[str]]) -> tuple[float, float]:
    precision = recall = 0.0
    n = 0
    for tags, keys in zip(predicted, gold):
        if not keys:
            continue
        n += 1
        precision += sum(any(matches(t, k) for k in keys) for t in tags) / len(tags) if tags else 0.0
        recall += sum(any(matches(t, k) for t in tags) for k in keys) / min(len(keys), max(1, len(tags)))
    return precision / n, min(1.0, recall / n)


def main() -> None:
    from newsstand.intel.tags import tag_candidates, yake_keyphrases

    docs = basil()
    start = time.perf_counter()
    ours = [[c.name for c in tag_candidates(d.title, d.body)] for d in docs]
    ours_time = (time.perf_counter() - start) / len(docs)
    start = time.perf_counter()
    plain = [[phrase for phrase, _ in yake_keyphrases(d.title, d.body, top=max(1, len(tags)))]
             for d, tags in zip(docs, ours)]
    yake_time = (time.perf_counter() - start) / len(docs)
    keywords = [[k for k in d.keywords if k.strip()] for d in docs]
    entities = [list(d.main_entities) for d in docs]
    with_keywords = sum(1 for k in keywords if k)
    print(f"BASIL: {len(docs)} articles, {with_keywords} with publisher keywords; "
          f"{sum(map(len, ours)) / len(docs):.1f} tags per article (plain YAKE given as many)")
    for name, predicted, took in (("ours", ours, ours_time), ("plain YAKE", plain, yake_time)):
        kp, kr = score(predicted, keywords)
        ep, er = score(predicted, entities)
        print(f"  {name:<11} keywords: precision {kp:.3f} recall {kr:.3f} | main entities found {er:.3f} "
              f"| {took * 1000:.1f} ms/article")
    print("  examples:")
    for d, tags, yk in list(zip(docs, ours, plain))[:3]:
        print(f"    {d.title[:60]!r}\n      ours: {' '.join('#' + t for t in tags)}\n      yake: {yk}")


if __name__ == "__main__":
    main()

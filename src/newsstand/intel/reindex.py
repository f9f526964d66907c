"""Recompute everything story intelligence derives, for every readable article, while the site
keeps serving: new stories are built beside the old ones (articles move one short transaction
at a time, and an old story disappears when its last article has moved), and the other stages
overwrite their rows in place."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from tqdm import tqdm

from newsstand.intel.models import MinHashBand, StoryProfile, TermStat
from newsstand.news.models import Article, Story

log = logging.getLogger(__name__)

BATCH = 64


@dataclass(frozen=True)
class ReindexSummary:
    articles: int
    counts: dict[str, int]

    def describe(self) -> str:
        parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(self.counts.items()) if n)
        return f"Reindexed {self.articles} articles: {parts or 'nothing to do'}."


def reindex(*, embeddings: bool = False, progress: bool = True, embedder=None) -> ReindexSummary:
    from newsstand.intel.pipeline import embed_articles, process_intel
    from newsstand.intel.related import compute_related, store_related
    from newsstand.intel.embed import default_embedder
    from newsstand.intel.tagstore import recount_tags
    from newsstand.intel.vectors import article_vectors

    ids = list(Article.objects.visible().order_by("published_at", "pk").values_list("pk", flat=True))
    counts: Counter[str] = Counter()
    bar = lambda desc: tqdm(total=len(ids), desc=desc, unit="article", disable=not progress,  # noqa: E731
                            dynamic_ncols=True)
    with bar("Embedding") as progress_bar:
        for start in range(0, len(ids), BATCH):
            chunk = list(Article.objects.filter(pk__in=ids[start:start + BATCH]))
            if embeddings or any(a.embedding is None for a in chunk):
                counts["embedded"] += embed_articles(chunk, embedder or default_embedder(), force=embeddings)
            progress_bar.update(len(chunk))
    vectors = article_vectors()
    vectors.rebuild()
    # Fresh near-duplicate buckets and term statistics, rebuilt in publication order below.
    MinHashBand.objects.all().delete()
    TermStat.objects.all().delete()
    boundary = Story.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with bar("Stories, duplicates, tags") as progress_bar:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            outcome = process_intel(chunk, vectors=vectors, min_story_id=boundary, with_related=False)
            counts.update({k: v for k, v in outcome.counts.items() if k != "embedded"})
            progress_bar.update(len(chunk))
    # Old stories that kept no article (their members all moved) are gone by now; any left
    # over (articles no longer readable) are removed with their profiles.
    leftovers = Story.objects.filter(pk__lte=boundary)
    StoryProfile.objects.filter(story__in=leftovers).delete()
    Article.objects.filter(story__in=leftovers).update(story=None)
    counts["old_stories_removed"] = leftovers.delete()[0]
    recount_tags()
    with bar("Related articles") as progress_bar:
        for start in range(0, len(ids), BATCH):
            for article in Article.objects.filter(pk__in=ids[start:start + BATCH]):
                store_related(article.pk, compute_related(article, vectors))
                counts["related"] += 1
            progress_bar.update(len(ids[start:start + BATCH]))
    vectors.save()
    return ReindexSummary(len(ids), dict(counts))

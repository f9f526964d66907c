"""Related articles from other outlets, computed at ingest: the same story first (closest
coverage first), then articles on the same topic (sharing a hashtag), each with the reason
readers see."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import transaction

from newsstand.intel.embed import from_bytes
from newsstand.news.models import Article, ArticleTag, RelatedArticle, Tag

MAX_RELATED = 5
STORY_POOL = 200
TOPIC_NEIGHBOURS = 60
MIN_TOPIC_SIMILARITY = 0.30
# When an article arrives, this many of its story's other articles get their lists refreshed.
REFRESH_OTHERS = 20


@dataclass(frozen=True)
class RelatedItem:
    related_id: int
    score: float
    reason: str


def _similarities(vector: np.ndarray | None, rows) -> dict[int, float]:
    out = {}
    for pk, blob in rows:
        other = from_bytes(blob)
        out[pk] = float(vector @ other) if vector is not None and other is not None else 0.0
    return out


def compute_related(article: Article, vectors, limit: int = MAX_RELATED) -> list[RelatedItem]:
    vector = from_bytes(article.embedding)
    original = article.duplicate_of_id or article.pk
    # Not the article itself, its copies or its original: those are "also published by".
    family = set(Article.objects.filter(duplicate_of_id=original).values_list("pk", flat=True)) | {original,
                                                                                                     article.pk}
    items: list[RelatedItem] = []
    seen_sources = {article.source_id}
    if article.story_id:
        rows = (Article.objects.visible().filter(story_id=article.story_id, duplicate_of__isnull=True)
                .exclude(pk__in=family).exclude(source_id=article.source_id)
                .order_by("-published_at").values_list("pk", "embedding", "source_id")[:STORY_POOL])
        rows = list(rows)
        sims = _similarities(vector, [(pk, blob) for pk, blob, _ in rows])
        source_of = {pk: source for pk, _, source in rows}
        for pk in sorted(sims, key=lambda p: (-sims[p], p)):
            if source_of[pk] in seen_sources:
                continue  # one article per outlet: breadth of coverage over repetition
            seen_sources.add(source_of[pk])
            items.append(RelatedItem(pk, 1.0 + sims[pk], "same story"))
            if len(items) >= limit:
                return items
    if vector is None:
        return items
    own_tags = dict(ArticleTag.objects.filter(article_id=article.pk).values_list("tag_id", "score"))
    if not own_tags:
        return items
    neighbours = [(pk, s) for pk, s in vectors.search(vector, TOPIC_NEIGHBOURS, exclude=article.pk)
                  if s >= MIN_TOPIC_SIMILARITY and pk not in family]
    chosen = {item.related_id for item in items}
    info = {pk: (source, dup) for pk, source, dup in Article.objects.visible()
            .filter(pk__in=[pk for pk, _ in neighbours]).values_list("pk", "source_id", "duplicate_of_id")}
    shared: dict[int, list[tuple[float, int]]] = {}
    for article_id, tag_id in ArticleTag.objects.filter(article_id__in=list(info), tag_id__in=list(own_tags)) \
            .values_list("article_id", "tag_id"):
        shared.setdefault(article_id, []).append((own_tags[tag_id], tag_id))
    names = dict(Tag.objects.filter(pk__in=list(own_tags)).values_list("pk", "name"))
    for pk, similarity in neighbours:
        if pk in chosen or pk not in info or pk not in shared:
            continue
        source, duplicate_of = info[pk]
        if source in seen_sources or duplicate_of is not None:
            continue
        seen_sources.add(source)
        best_tag = max(shared[pk])[1]
        items.append(RelatedItem(pk, similarity, f"also about #{names[best_tag]}"))
        if len(items) >= limit:
            break
    return items


def store_related(article_id: int, items: list[RelatedItem]) -> None:
    with transaction.atomic():
        RelatedArticle.objects.filter(article_id=article_id).delete()
        RelatedArticle.objects.bulk_create([
            RelatedArticle(article_id=article_id, related_id=item.related_id, score=item.score,
                           reason=item.reason[:200], rank=rank)
            for rank, item in enumerate(items)])


def refresh_related(article: Article, vectors) -> int:
    """This article's list, and the lists of its story's other articles that it may now
    belong in (the newest few, so a thousand-article story costs no more than a small one)."""
    store_related(article.pk, compute_related(article, vectors))
    refreshed = 1
    if article.story_id and article.duplicate_of_id is None:
        others = (Article.objects.filter(story_id=article.story_id, duplicate_of__isnull=True)
                  .exclude(pk=article.pk).exclude(source_id=article.source_id)
                  .order_by("-published_at")[:REFRESH_OTHERS])
        for other in others:
            store_related(other.pk, compute_related(other, vectors))
            refreshed += 1
    return refreshed

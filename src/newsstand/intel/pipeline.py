"""The intelligence stages for a batch of readable articles, in order: embed (one batch for
the model), then per article near-duplicate detection, hashtags and story assignment (short
write transactions, the story step under the assigner lock), then related articles.

CPU-heavy work (the model, YAKE, entity finding, MinHash) runs outside any transaction, so
the SQLite write lock is held for milliseconds per article."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from newsstand.intel import neardup, related, stories
from newsstand.intel.embed import Embedder, default_embedder, from_bytes, to_bytes
from newsstand.intel.entities import extract_entities
from newsstand.intel.scoring import StoryConfig
from newsstand.intel.signals import article_signals
from newsstand.intel.tags import tag_candidates
from newsstand.intel.tagstore import store_tags
from newsstand.intel.text import ArticleText, embedding_input
from newsstand.intel.vectors import article_vectors
from newsstand.news.models import Article

log = logging.getLogger(__name__)

# One model call per this many articles: sentence-transformers sorts a call's texts by length,
# so larger calls pad less (measured in bench/intel_speed.py).
EMBED_BATCH = 256


@dataclass(frozen=True)
class IntelOutcome:
    counts: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> int:
        return self.counts.get(key, 0)


def text_of(article: Article) -> ArticleText:
    return ArticleText(article.title or "", article.text or "")


def embed_articles(articles: list[Article], embedder: Embedder, *, force: bool = False) -> int:
    """Embed those without a vector, in model batches; returns how many were embedded."""
    todo = [a for a in articles if force or a.embedding is None]
    todo = [(a, embedding_input(text_of(a))) for a in todo]
    todo = [(a, text) for a, text in todo if text]
    done = 0
    for start in range(0, len(todo), EMBED_BATCH):
        chunk = todo[start:start + EMBED_BATCH]
        vectors = embedder.encode([text for _, text in chunk])
        for (article, _), vector in zip(chunk, vectors):
            article.embedding = to_bytes(vector)
        with transaction.atomic():
            for article, _ in chunk:
                Article.objects.filter(pk=article.pk).update(embedding=article.embedding)
        done += len(chunk)
    return done


def readable(article_ids) -> list[Article]:
    # With the source: its name is needed per article (tag_candidates), in one query here.
    return list(Article.objects.visible().filter(pk__in=list(article_ids)).select_related("source")
                .order_by("published_at", "pk"))


def process_intel(article_ids, *, embedder: Embedder | None = None, vectors=None,
                  config: StoryConfig | None = None, min_story_id: int = 0, force: bool = False,
                  with_related: bool = True) -> IntelOutcome:
    """Everything story intelligence does for these articles; safe to run twice."""
    counts: Counter[str] = Counter()
    articles = readable(article_ids)
    counts["skipped"] = len(set(article_ids)) - len(articles)
    if not articles:
        return IntelOutcome(dict(counts))
    config = config or StoryConfig()
    if force or any(a.embedding is None for a in articles):
        counts["embedded"] = embed_articles(articles, embedder or default_embedder(), force=force)
    vectors = vectors if vectors is not None else article_vectors()
    for article in list(articles):
        if not embedding_input(text_of(article)):
            counts["empty"] += 1  # nothing to compare: no story, tags or related
            articles.remove(article)
            continue
        vector = from_bytes(article.embedding)
        if vector is not None:
            vectors.add(article.pk, vector)
        outcome = process_one(article, vectors, config, min_story_id=min_story_id, force=force)
        counts.update(outcome)
    if with_related:
        for article in articles:
            article.refresh_from_db(fields=["story", "duplicate_of"])
            counts["related"] += related.refresh_related(article, vectors)
    vectors.maybe_save()
    return IntelOutcome(dict(counts))


def process_one(article: Article, vectors, config: StoryConfig, *, min_story_id: int = 0,
                force: bool = False) -> Counter:
    counts: Counter[str] = Counter()
    text = text_of(article)
    fingerprint = neardup.fingerprint(text.body)  # CPU work outside any transaction
    with stories.assigner_lock():
        # Under the lock so that two copies arriving at once agree on which is the original.
        decision = neardup.detect_duplicate(article, fingerprint)
        neardup.apply_duplicate(article, decision)
        if decision.original_id is not None:
            # A copy: it joins its original's story and wears its tags; it neither moves the
            # story's profile (a thousand copies are one voice) nor needs YAKE.
            counts["duplicates"] += 1
            joined = stories.join_original_story(article, min_story_id=min_story_id)
            if joined:
                copy_tags(decision.original_id, article.pk)
                counts["stories_joined"] += 1
                return counts
    entities = extract_entities(text.title, text.body)
    candidates = tag_candidates(text.title, text.body, article.language or "en", entities,
                                outlet=article.source.name)
    signals = article_signals(article.pk, text, article.published_at, from_bytes(article.embedding),
                              source_id=article.source_id, entities=entities)
    with stories.assigner_lock():
        assignment = stories.assign_story(article, signals, vectors, config, min_story_id=min_story_id)
        for adopted in decision.adopted:
            # Copies that turned out to be later than this article follow it into its story.
            _move_to_story(adopted, assignment.story_id, min_story_id)
    counts["stories_started" if assignment.started else "stories_joined"] += 1
    store_tags(article.pk, candidates)
    counts["tagged"] += bool(candidates)
    return counts


def copy_tags(original_id: int, copy_id: int) -> None:
    from newsstand.intel.tags import TagCandidate
    from newsstand.news.models import ArticleTag

    rows = ArticleTag.objects.filter(article_id=original_id).select_related("tag")
    store_tags(copy_id, [TagCandidate(r.tag.slug, r.tag.name, r.tag.kind, r.score) for r in rows])


def _move_to_story(article_id: int, story_id: int | None, min_story_id: int) -> None:
    article = Article.objects.get(pk=article_id)
    if story_id is None or article.story_id == story_id:
        return
    from newsstand.intel.repair import detach_article

    if article.story_id is not None and article.story_id > min_story_id and article.duplicate_of_id is None:
        detach_article(article)
    previous = article.story_id
    Article.objects.filter(pk=article_id).update(story=story_id)
    stories.refresh_story(story_id)
    if previous is not None:
        stories.refresh_story(previous)

"""Online story assignment against the database, one assigner at a time.

Each article joins the best-fitting recent story or starts one (scoring.py decides). The
decision depends on every earlier decision, so it is serialized: on PostgreSQL by a
transaction-level advisory lock, on SQLite by the IMMEDIATE write transaction that already
admits one writer at a time. Many workers then produce what one would."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Max, Min

from newsstand.intel.clusterer import candidate_story_ids
from newsstand.intel.embed import DIMENSIONS, from_bytes, to_bytes
from newsstand.intel.models import StoryProfile, TermStat
from newsstand.intel.scoring import ArticleSignals, StoryConfig, StoryState, choose, idf_value, story_rank
from newsstand.news.models import Article, Story

log = logging.getLogger(__name__)

ASSIGNER_LOCK_KEY = 0x6E657773  # "news": the one advisory lock story assignment takes
HEADLINE_POOL = 200


@contextmanager
def assigner_lock():
    """A transaction in which this process is the only story assigner."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ASSIGNER_LOCK_KEY])
        yield


@dataclass(frozen=True)
class Assignment:
    article_id: int
    story_id: int | None
    started: bool = False
    score: float | None = None


def load_state(story_ids: list[int]) -> list[StoryState]:
    profiles = {p.story_id: p for p in StoryProfile.objects.filter(story_id__in=story_ids)}
    states = []
    for story in Story.objects.filter(pk__in=story_ids).only("pk", "first_seen_at", "last_updated_at"):
        profile = profiles.get(story.pk)
        if profile is None:
            continue  # a story made by hand or by an older version: repair gives it a profile
        vector = from_bytes(profile.vector_sum)
        states.append(StoryState(story.pk, vector.copy() if vector is not None else np.zeros(DIMENSIONS, "f4"),
                                 profile.vector_count, dict(profile.entities), dict(profile.terms),
                                 story.first_seen_at, story.last_updated_at, from_bytes(profile.anchor)))
    order = {sid: i for i, sid in enumerate(story_ids)}
    return sorted(states, key=lambda s: order[s.story_id])


def save_state(state: StoryState) -> None:
    StoryProfile.objects.update_or_create(story_id=state.story_id, defaults={
        "vector_sum": to_bytes(state.vector_sum), "vector_count": state.count,
        "anchor": None if state.anchor is None else to_bytes(state.anchor),
        "entities": state.entities, "terms": state.terms})


def join_original_story(article: Article, *, min_story_id: int = 0) -> bool:
    """Put a near-duplicate copy in its original's story (run inside assigner_lock())."""
    story_id = (Article.objects.filter(pk=article.duplicate_of_id, story_id__gt=min_story_id)
                .values_list("story_id", flat=True).first())
    if story_id is None:
        return False
    if article.story_id != story_id:
        previous = article.story_id
        Article.objects.filter(pk=article.pk).update(story=story_id)
        article.story_id = story_id
        refresh_story(story_id)
        if previous is not None:
            refresh_story(previous)
    return True


def assign_story(article: Article, signals: ArticleSignals, vectors, config: StoryConfig,
                 *, min_story_id: int = 0) -> Assignment:
    """Run inside assigner_lock(). `min_story_id` limits candidates to stories made after a
    point (reindex builds the new stories beside the old ones)."""
    if article.story_id is not None and article.story_id > min_story_id:
        return Assignment(article.pk, article.story_id)
    chosen_id: int | None = None
    score = None
    if signals.vector is not None:
        neighbours = vectors.search(signals.vector, config.neighbours, exclude=article.pk)
        story_of = dict(Article.objects.filter(pk__in=[pk for pk, _ in neighbours], story_id__gt=min_story_id)
                        .values_list("pk", "story_id"))
        candidates = load_state(candidate_story_ids(neighbours, story_of.get, config))
        signals = signals.with_idf(term_idf(set(signals.terms).union(*(c.terms for c in candidates))))
        best = choose(signals, candidates, config)
        if best is not None:
            chosen_id, score = best.story_id, best.score
    count_terms(signals.terms)
    started = chosen_id is None
    if started:
        story = Story.objects.create(headline=article.title[:1000], first_seen_at=article.published_at,
                                     last_updated_at=article.published_at, first_article=article)
        state = StoryState(story.pk, np.zeros(DIMENSIONS, dtype=np.float32))
        chosen_id = story.pk
    else:
        state = load_state([chosen_id])[0] if StoryProfile.objects.filter(story_id=chosen_id).exists() \
            else StoryState(chosen_id, np.zeros(DIMENSIONS, dtype=np.float32))
    state.add(signals)
    save_state(state)
    previous = article.story_id
    Article.objects.filter(pk=article.pk).update(story=chosen_id)
    article.story_id = chosen_id
    refresh_story(chosen_id)
    if previous is not None and previous != chosen_id:
        refresh_story(previous)  # reindex moves articles out of old stories; empty ones go
    return Assignment(article.pk, chosen_id, started, score)


def term_idf(terms) -> dict[str, float]:
    stats = dict(TermStat.objects.filter(term__in=list(terms) + [""]).values_list("term", "documents"))
    documents = stats.pop("", 0)
    return {t: idf_value(stats.get(t, 0), documents) for t in terms}


def count_terms(terms) -> None:
    """Add one article's terms to the document frequencies (under the assigner lock)."""
    from django.db.models import F

    keys = [t[:100] for t in terms] + [""]
    known = set(TermStat.objects.filter(term__in=keys).values_list("term", flat=True))
    TermStat.objects.filter(term__in=known).update(documents=F("documents") + 1)
    TermStat.objects.bulk_create([TermStat(term=t, documents=1) for t in set(keys) - known],
                                 ignore_conflicts=True)


def refresh_story(story_id: int) -> None:
    """Recompute what a story shows from its articles: counts, who broke it, its headline
    (the original article closest to the story's centre), its ranking."""
    members = Article.objects.filter(story_id=story_id)
    stats = members.aggregate(n=Count("pk"), sources=Count("source", distinct=True),
                              first=Min("published_at"), last=Max("published_at"))
    if not stats["n"]:
        Story.objects.filter(pk=story_id).delete()
        return
    first = members.order_by("published_at", "pk").values_list("pk", flat=True).first()
    profile = StoryProfile.objects.filter(story_id=story_id).first()
    headline = None
    if profile is not None:
        centre = from_bytes(profile.vector_sum)
        pool = (members.filter(duplicate_of__isnull=True, embedding__isnull=False)
                .order_by("-published_at").values_list("title", "embedding")[:HEADLINE_POOL])
        best = -2.0
        for title, blob in pool:
            vector = from_bytes(blob)
            if vector is None or centre is None or not title.strip():
                continue
            similarity = float(vector @ centre)
            if similarity > best:
                best, headline = similarity, title
    updates = dict(article_count=stats["n"], source_count=stats["sources"], first_seen_at=stats["first"],
                   last_updated_at=stats["last"], first_article_id=first,
                   score=story_rank(stats["sources"], stats["n"], stats["last"]))
    if headline:
        updates["headline"] = headline[:1000]
    Story.objects.filter(pk=story_id).update(**updates)

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
from newsstand.intel.scoring import (ArticleSignals, StoryConfig, StoryState, can_join, choose, idf_value,
                                      story_rank)
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


def load_state(story_ids: list[int], keep=None) -> list[StoryState]:
    """The stories' profiles, in the order asked. `keep(state)` sees each story with its
    vectors and dates only; the word and entity profiles (JSON, the costly part) are read
    for the stories it keeps."""
    rows = (StoryProfile.objects.filter(story_id__in=story_ids)
            .values_list("story_id", "vector_sum", "vector_count", "anchor",
                         "story__first_seen_at", "story__last_updated_at"))
    states = {}
    for story_id, vector_sum, count, anchor, first_seen, last_updated in rows:
        vector = from_bytes(vector_sum)
        state = StoryState(story_id, vector.copy() if vector is not None else np.zeros(DIMENSIONS, "f4"), count,
                           first_seen=first_seen, last_updated=last_updated, anchor=from_bytes(anchor))
        if keep is None or keep(state):
            states[story_id] = state
    # (A story without a profile was made by hand or by an older version: repair gives it one.)
    if states:
        for story_id, entities, terms in (StoryProfile.objects.filter(story_id__in=list(states))
                                          .values_list("story_id", "entities", "terms")):
            states[story_id].entities, states[story_id].terms = dict(entities), dict(terms)
    return [states[story_id] for story_id in dict.fromkeys(story_ids) if story_id in states]


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
    chosen: StoryState | None = None
    score = None
    if signals.vector is not None:
        neighbours = vectors.search(signals.vector, config.neighbours, exclude=article.pk)
        story_of = dict(Article.objects.filter(pk__in=[pk for pk, _ in neighbours], story_id__gt=min_story_id)
                        .values_list("pk", "story_id"))
        # Stories too far in time or from the article's meaning never join; dropping them
        # before their word profiles are read keeps the cost flat as the archive grows
        # (a larger archive holds more look-alike stories of other weeks).
        candidates = load_state(candidate_story_ids(neighbours, story_of.get, config),
                                keep=lambda story: can_join(signals, story, config))
        signals = signals.with_idf(term_idf(set(signals.terms).union(*(c.terms for c in candidates))))
        best = choose(signals, candidates, config)
        if best is not None:
            chosen_id, score = best.story_id, best.score
            chosen = next(c for c in candidates if c.story_id == chosen_id)
    count_terms(signals.terms)
    started = chosen_id is None
    if started:
        story = Story.objects.create(headline=article.title[:1000], first_seen_at=article.published_at,
                                     last_updated_at=article.published_at, first_article=article)
        state = StoryState(story.pk, np.zeros(DIMENSIONS, dtype=np.float32))
        chosen_id = story.pk
    else:
        state = chosen  # (as read under this lock: a candidate always has its profile)
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

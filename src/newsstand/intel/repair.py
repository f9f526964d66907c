"""Periodic repair of online decisions: merge stories that were split (two stories whose
centres and entities agree, close in time), and split stories that drifted (members that no
longer fit their story's centre leave and are assigned again, possibly to a story of their own)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from django.utils import timezone

from newsstand.intel.embed import from_bytes
from newsstand.intel.entities import extract_entities
from newsstand.intel.models import StoryProfile
from newsstand.intel.scoring import ArticleSignals, StoryConfig, StoryState, fit
from newsstand.intel.signals import article_signals
from newsstand.intel.text import ArticleText
from newsstand.news.models import Article, Story

log = logging.getLogger(__name__)

# A member whose similarity to its story's centre (without itself) falls below this has
# drifted away; the bar sits well below the joining threshold so repair never flaps.
DRIFT_COSINE = 0.35
# Merging asks for more than joining: two stories are both established. (The probe has no
# body, so it is scored with the headline share; the bar stays where it was, 0.58, when the
# join threshold fell to 0.40 with the longer word profile.)
MERGE_MARGIN = 0.18
MAX_STORIES = 2000


@dataclass(frozen=True)
class RepairReport:
    merged: int
    split: int
    checked: int


def signals_of(article: Article) -> ArticleSignals:
    text = ArticleText(article.title or "", article.text or "")
    return article_signals(article.pk, text, article.published_at, from_bytes(article.embedding),
                           source_id=article.source_id, entities=extract_entities(text.title, text.body))


def detach_article(article: Article) -> None:
    """Take an article out of its story (the caller reassigns it)."""
    from newsstand.intel.stories import refresh_story

    if article.story_id is None:
        return
    story_id = article.story_id
    Article.objects.filter(pk=article.pk).update(story=None)
    rebuild_profile(story_id)
    refresh_story(story_id)


def rebuild_profile(story_id: int) -> None:
    """The profile recomputed from the story's original articles (copies never count)."""
    from newsstand.intel.embed import DIMENSIONS
    from newsstand.intel.stories import save_state

    state = StoryState(story_id, np.zeros(DIMENSIONS, dtype=np.float32))
    for member in Article.objects.filter(story_id=story_id, duplicate_of__isnull=True).order_by("published_at", "pk"):
        state.add(signals_of(member))
    if state.count:
        save_state(state)
    else:
        StoryProfile.objects.filter(story_id=story_id).delete()


def repair_stories(*, now: datetime | None = None, days: int = 3, config: StoryConfig | None = None,
                   vectors=None) -> RepairReport:
    from newsstand.intel.stories import assign_story, assigner_lock
    from newsstand.intel.vectors import article_vectors

    now = now or timezone.now()
    config = config or StoryConfig()
    vectors = vectors if vectors is not None else article_vectors()
    recent = list(Story.objects.filter(last_updated_at__gte=now - timedelta(days=days))
                  .order_by("-last_updated_at").values_list("pk", flat=True)[:MAX_STORIES])
    split = 0
    for story_id in recent:
        with assigner_lock():
            drifted = drifted_members(story_id)
            for article in drifted:
                detach_article(article)
                article.story_id = None
                assign_story(article, signals_of(article), vectors, config)
                split += 1
    merged = 0
    with assigner_lock():
        merged = merge_split_stories(recent, config)
    return RepairReport(merged=merged, split=split, checked=len(recent))


def drifted_members(story_id: int) -> list[Article]:
    members = list(Article.objects.filter(story_id=story_id, duplicate_of__isnull=True, embedding__isnull=False))
    if len(members) < 3:
        return []
    matrix = np.stack([from_bytes(a.embedding) for a in members])
    total = matrix.sum(axis=0)
    drifted = []
    for article, vector in zip(members, matrix):
        rest = total - vector
        norm = float(np.linalg.norm(rest))
        if norm and float(vector @ rest) / norm < DRIFT_COSINE:
            drifted.append(article)
    return drifted if len(drifted) < len(members) / 2 else []


def merge_split_stories(story_ids: list[int], config: StoryConfig) -> int:
    from newsstand.intel.stories import load_state, refresh_story, save_state

    states = {s.story_id: s for s in load_state(story_ids) if s.count}
    merged = 0
    ordered = sorted(states.values(), key=lambda s: (s.first_seen, s.story_id))
    for i, keep in enumerate(ordered):
        if keep.story_id not in states:
            continue
        for other in ordered[i + 1:]:
            if other.story_id not in states or keep.story_id not in states:
                continue
            # The smaller story is scored as if it were one article joining the larger.
            small, large = (other, keep) if other.count <= keep.count else (keep, other)
            probe = ArticleSignals(0, small.first_seen, small.centroid,
                                   {k: float(v) for k, v in small.entities.items() if v * 2 >= small.count},
                                   # words about half its members use (a term's weight is 1 or more per member)
                                   frozenset(k for k, v in small.terms.items() if v * 2 >= small.count))
            if fit(probe, large, config).score < config.threshold + MERGE_MARGIN:
                continue
            Article.objects.filter(story_id=small.story_id).update(story_id=large.story_id)
            large.absorb(small)
            save_state(large)
            StoryProfile.objects.filter(story_id=small.story_id).delete()
            Story.objects.filter(pk=small.story_id).delete()
            refresh_story(large.story_id)
            states.pop(small.story_id)
            merged += 1
            log.info("story=%s merged into story=%s", small.story_id, large.story_id)
    return merged




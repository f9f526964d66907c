"""The pure core of story assignment: how well an article fits a story, and whether that is
enough to join it. No database here; the online assigner (stories.py), the repair pass and the
benchmarks all call these same functions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class StoryConfig:
    # Weights and threshold tuned on the ECB+ train and dev topics only (bench/story_quality.py
    # --tune); the test topics, BASIL and UCI are never used to choose them.
    threshold: float = 0.40
    # Headlines alone (no body) are short and embed less reliably: their own bar, tuned on a
    # UCI window disjoint from the one reported (with IDF warmed up as in production).
    headline_threshold: float = 0.25
    headline_words: int = 30
    entity_weight: float = 0.15
    entity_neutral: float = 0.35     # what "no entities to compare" counts as
    # Share of the lexical (TF-IDF cosine with the story's word profile) in the similarity;
    # the rest is the embedding cosine with the story's centre.
    lexical_share: float = 0.5
    headline_lexical_share: float = 0.3  # a headline has a dozen words: its TF-IDF is noisy
    # Time: an article hours after a story's last update still fits; days later it must fit
    # much better (a new trial, not the crime it follows up).
    grace_hours: float = 36.0
    decay_hours: float = 72.0
    time_weight: float = 0.25
    # Past this gap it is another event of the same kind (the next storm, a new trial).
    max_gap_hours: float = 7 * 24
    # However far a story's centre has moved, a newcomer must still resemble the article that
    # started it: the guard against a chain of small steps carrying a story to unrelated news.
    min_anchor_cosine: float = 0.25
    # Headlines alone are too short for this bar (same-story headlines often sit at 0.3).
    headline_min_anchor_cosine: float = 0.10
    # Candidate generation: stories of this many nearest articles, above this cosine.
    neighbours: int = 30
    min_neighbour_similarity: float = 0.35
    # Two events of the same kind (two rehab stays, two earthquakes) merge early, when a story
    # has one or two members and its profile is that of a single article: a young story asks
    # for more, the bar falling back to `threshold` as it grows to `young_members`.
    young_margin: float = 0.05
    young_members: int = 3


MAX_PROFILE_TERMS = 500


def term_weight(article: "ArticleSignals", term: str) -> float:
    """What one article adds to its story's profile for a word: its sublinear term frequency,
    so a name the article repeats weighs more than a word it mentions once."""
    return 1.0 + math.log(max(1, article.term_tf.get(term, 1)))


@dataclass
class StoryState:
    """A story as the assigner sees it. Sums, not means, so adding and removing are exact."""

    story_id: int
    vector_sum: np.ndarray
    count: int = 0
    entities: dict[str, int] = field(default_factory=dict)
    terms: dict[str, float] = field(default_factory=dict)  # word → sum of term_weight() over members
    first_seen: datetime | None = None
    last_updated: datetime | None = None
    anchor: np.ndarray | None = None  # the first member's vector

    @property
    def centroid(self) -> np.ndarray:
        norm = float(np.linalg.norm(self.vector_sum))
        return self.vector_sum / norm if norm > 0 else self.vector_sum

    def add(self, article: "ArticleSignals") -> None:
        if article.vector is not None:
            self.vector_sum = self.vector_sum + article.vector
            if self.anchor is None:
                self.anchor = article.vector
        self.count += 1
        for slug in article.entities:
            self.entities[slug] = self.entities.get(slug, 0) + 1
        for term in article.terms:
            self.terms[term] = self.terms.get(term, 0) + term_weight(article, term)
        self._trim_terms()
        self.first_seen = min(filter(None, [self.first_seen, article.published_at]))
        self.last_updated = max(filter(None, [self.last_updated, article.published_at]))

    def absorb(self, other: "StoryState") -> None:
        """Take in another story's members (repair merging a split story): the sums add up."""
        self.vector_sum = self.vector_sum + other.vector_sum
        self.count += other.count
        for bag, extra in ((self.entities, other.entities), (self.terms, other.terms)):
            for key, n in extra.items():
                bag[key] = bag.get(key, 0) + n
        self._trim_terms()
        self.first_seen = min(filter(None, [self.first_seen, other.first_seen]), default=None)
        self.last_updated = max(filter(None, [self.last_updated, other.last_updated]), default=None)

    def _trim_terms(self) -> None:
        if len(self.terms) > MAX_PROFILE_TERMS * 2:
            # A long-running story keeps the words most of its members share.
            kept = sorted(self.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_PROFILE_TERMS]
            self.terms = dict(kept)

    def remove(self, article: "ArticleSignals") -> None:
        if article.vector is not None:
            self.vector_sum = self.vector_sum - article.vector
        self.count = max(0, self.count - 1)
        for bag, keys, weight in ((self.entities, article.entities, lambda _: 1),
                                  (self.terms, article.terms, lambda t: term_weight(article, t))):
            for key in keys:
                left = bag.get(key, 0) - weight(key)
                if left <= 1e-9:
                    bag.pop(key, None)
                else:
                    bag[key] = left


@dataclass(frozen=True)
class ArticleSignals:
    """What assignment knows about an article: its vector, the entities it names (slug →
    weight), the content words of its title and lead, when and by whom it was published."""

    article_id: int
    published_at: datetime
    vector: np.ndarray | None
    entities: dict[str, float]
    terms: frozenset[str]
    source_id: int = 0
    # Inverse document frequency of the terms, filled in at assignment time (rare words such
    # as names and places say more about the event than "police" or "officials").
    idf: dict[str, float] = field(default_factory=dict)
    words: int = 0  # body length; a headline alone is judged by its own threshold
    term_tf: dict[str, int] = field(default_factory=dict)  # occurrences of each term

    def with_idf(self, idf: dict[str, float]) -> "ArticleSignals":
        from dataclasses import replace

        return replace(self, idf=idf)


class TermStats:
    """Document frequencies for IDF, kept in memory (benchmarks, tests); the database assigner
    keeps the same numbers in intel.TermStat."""

    def __init__(self):
        self.documents = 0
        self.df: dict[str, int] = {}

    def idf(self, terms) -> dict[str, float]:
        return {t: idf_value(self.df.get(t, 0), self.documents) for t in terms}

    def add(self, terms) -> None:
        self.documents += 1
        for t in terms:
            self.df[t] = self.df.get(t, 0) + 1


def idf_value(df: int, documents: int) -> float:
    return math.log((documents + 1) / (df + 1)) + 1.0


@dataclass(frozen=True)
class Fit:
    story_id: int
    score: float
    cosine: float
    entities: float
    terms: float
    hours_apart: float


def _overlap(weights: dict[str, float], counts: dict[str, int], members: int, neutral: float) -> float:
    """Weighted share of the article's items that the story's members commonly use (an item
    named by every member counts fully, by one member in ten a tenth)."""
    if not weights or not members:
        return neutral
    total = sum(weights.values())
    return sum(w * min(1.0, counts.get(k, 0) / members * 2) for k, w in weights.items()) / total


def lexical_cosine(article: ArticleSignals, story: StoryState, idf: dict[str, float]) -> float | None:
    """TF-IDF cosine between the article's words and the story's word profile (a word's
    weight in the story: its mean sublinear term frequency over the members)."""
    if not article.terms or not story.terms or not story.count:
        return None
    mine = {t: (1 + math.log(article.term_tf.get(t, 1))) * idf.get(t, 1.0) for t in article.terms}
    theirs = {t: c / story.count * idf.get(t, 1.0) for t, c in story.terms.items()}
    dot = sum(w * theirs[t] for t, w in mine.items() if t in theirs)
    norm = math.sqrt(sum(w * w for w in mine.values())) * math.sqrt(sum(w * w for w in theirs.values()))
    return dot / norm if norm else 0.0


def hours_apart(article: ArticleSignals, story: StoryState) -> float:
    """Hours between the article and the story's span (0 inside it)."""
    if story.last_updated and story.first_seen:
        if article.published_at > story.last_updated:
            return (article.published_at - story.last_updated).total_seconds() / 3600
        if article.published_at < story.first_seen:
            return (story.first_seen - article.published_at).total_seconds() / 3600
    return 0.0


def can_join(article: ArticleSignals, story: StoryState, config: StoryConfig) -> bool:
    """False when no score lets the article join: it is too far in time from the story, or
    too unlike the story's first member. Needs only the story's dates and anchor, so the
    assigner can drop such candidates before loading their word profiles."""
    if hours_apart(article, story) > config.max_gap_hours:
        return False
    anchor_floor = config.headline_min_anchor_cosine if article.words < config.headline_words \
        else config.min_anchor_cosine
    return article.vector is None or story.anchor is None or float(article.vector @ story.anchor) >= anchor_floor


def fit(article: ArticleSignals, story: StoryState, config: StoryConfig) -> Fit:
    cosine = float(article.vector @ story.centroid) if article.vector is not None and story.count else 0.0
    entities = _overlap(article.entities, story.entities, story.count, config.entity_neutral)
    lexical = lexical_cosine(article, story, article.idf)
    terms = cosine if lexical is None else lexical
    hours = hours_apart(article, story)
    time_penalty = 1 - math.exp(-max(0.0, hours - config.grace_hours) / config.decay_hours)
    if not can_join(article, story, config):
        time_penalty = math.inf  # (time or the anchor: the same verdict, cannot join)
    share = config.headline_lexical_share if article.words < config.headline_words else config.lexical_share
    score = ((1 - share) * cosine + share * terms
             + config.entity_weight * (entities - config.entity_neutral) - config.time_weight * time_penalty)
    return Fit(story.story_id, score, cosine, entities, terms, hours)


def young_margin(article: ArticleSignals, story: StoryState, config: StoryConfig) -> float:
    """The extra a story of one member asks (half of it for two members, none from
    `young_members`). Headlines are left alone: their bar was tuned on them as they are."""
    if article.words < config.headline_words or config.young_members <= 1:
        return 0.0
    young = max(0, config.young_members - story.count) / (config.young_members - 1)
    return config.young_margin * min(1.0, young)


def choose(article: ArticleSignals, candidates: list[StoryState], config: StoryConfig) -> Fit | None:
    """The best-fitting candidate above the threshold, or None (start a new story). Comparing
    with the story's centroid, never with its single nearest member, is what stops a chain of
    weak links from pulling unrelated news into one story."""
    best: Fit | None = None
    base = config.headline_threshold if article.words < config.headline_words else config.threshold
    for story in candidates:
        candidate = fit(article, story, config)
        threshold = base + young_margin(article, story, config)
        if candidate.score >= threshold and (best is None or candidate.score > best.score
                                                    or (candidate.score == best.score
                                                        and candidate.story_id < best.story_id)):
            best = candidate
    return best


def story_rank(source_count: int, article_count: int, last_updated: datetime) -> float:
    """Hot-style ranking that never needs recomputing as time passes: each doubling of outlets
    is worth 12 hours of recency."""
    hours = last_updated.timestamp() / 3600
    return math.log2(1 + source_count) * 12 + math.log2(1 + article_count) * 2 + hours

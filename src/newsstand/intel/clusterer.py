"""Online story clustering in memory: the same candidate generation and the same scoring as
the database assigner, for benchmarks, tuning and `reindex` dry runs."""

from __future__ import annotations

import numpy as np

from newsstand.intel.index import VectorIndex
from newsstand.intel.scoring import ArticleSignals, Fit, StoryConfig, StoryState, TermStats, choose


def candidate_story_ids(neighbours: list[tuple[int, float]], story_of, config: StoryConfig) -> list[int]:
    """Stories of the nearest articles, nearest first, each once."""
    seen: dict[int, None] = {}
    for article_id, similarity in neighbours:
        if similarity < config.min_neighbour_similarity:
            break
        story_id = story_of(article_id)
        if story_id is not None:
            seen.setdefault(story_id, None)
    return list(seen)


class OnlineClusterer:
    def __init__(self, config: StoryConfig | None = None, dims: int = 384, *, index: VectorIndex | None = None):
        self.config = config or StoryConfig()
        self.dims = dims
        self.index = index if index is not None else VectorIndex(dims)
        self.stories: dict[int, StoryState] = {}
        self.story_of: dict[int, int] = {}
        self.term_stats = TermStats()
        self._next_id = 1

    def add(self, article: ArticleSignals) -> tuple[int, Fit | None]:
        neighbours = self.index.search(article.vector, self.config.neighbours) if article.vector is not None else []
        candidates = [self.stories[s] for s in candidate_story_ids(neighbours, self.story_of.get, self.config)]
        words = set(article.terms).union(*(c.terms for c in candidates))
        article = article.with_idf(self.term_stats.idf(words))
        self.term_stats.add(article.terms)
        chosen = choose(article, candidates, self.config)
        if chosen is None:
            story = StoryState(self._next_id, np.zeros(self.dims, dtype=np.float32))
            self.stories[story.story_id] = story
            self._next_id += 1
        else:
            story = self.stories[chosen.story_id]
        story.add(article)
        self.story_of[article.article_id] = story.story_id
        if article.vector is not None:
            self.index.add([article.article_id], article.vector[None, :])
        return story.story_id, chosen

    def labels(self) -> dict[int, int]:
        return dict(self.story_of)

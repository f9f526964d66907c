"""From an article's text and vector to the signals assignment compares (pure)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np

from newsstand.intel.entities import Entity, extract_entities
from newsstand.intel.scoring import ArticleSignals
from newsstand.intel.text import ArticleText, content_words, words

# Most of the text, not just its lead: two events of the same kind share their lead's
# vocabulary ("checked into rehab", "a 6.1 quake struck"); the names, places and details that
# tell them apart come later (tuned on ECB+ train+dev; 400 words/80 terms joined whole topics).
TERM_LIMIT = 150
TERM_WORDS = 1000


def article_signals(article_id: int, text: ArticleText, published_at: datetime, vector: np.ndarray | None,
                    *, source_id: int = 0, entities: list[Entity] | None = None) -> ArticleSignals:
    if entities is None:
        entities = extract_entities(text.title, text.body)
    # Title words first: they say what the story is; the start of the body fills up to the
    # limit, most repeated words first.
    start = " ".join(text.body.split()[:TERM_WORDS])
    counts = Counter(w for w in words(start) if w in content_words(w))
    title_terms = content_words(text.title)
    terms = list(dict.fromkeys(sorted(title_terms)
                               + [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]))
    terms = terms[:TERM_LIMIT]
    return ArticleSignals(
        article_id=article_id,
        published_at=published_at,
        vector=None if vector is None else np.asarray(vector, dtype=np.float32),
        entities={e.slug: float(e.weight) for e in entities},
        terms=frozenset(terms),
        source_id=source_id,
        words=len(text.body.split()),
        term_tf={t: counts.get(t, 0) + (1 if t in title_terms else 0) for t in terms},
    )

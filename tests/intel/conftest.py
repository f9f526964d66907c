"""Intel tests run the real model, loaded once per test session (~5 s, ~430 MB)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from newsstand.intel import embed, vectors

# A few days ago, at 09:00: inside the index's window (vectors.WINDOW) whenever the tests run.
BASE = datetime.now(timezone.utc).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=3)
_urls = itertools.count()


@pytest.fixture(scope="session")
def embedder():
    return embed.SentenceTransformerEmbedder()


@pytest.fixture(autouse=True)
def _intel_state(embedder):
    """The real model for every stage; a fresh process index per test (its folder is the
    test's DATA_DIR, set by the top-level conftest)."""
    embed.set_default_embedder(embedder)
    vectors.reset_article_vectors()
    yield
    vectors.reset_article_vectors()


@pytest.fixture
def make_article(db):
    from newsstand.ingest.models import Source
    from newsstand.news.models import Article, ExtractionStatus

    def make(title: str, text: str, *, source: str = "Daily Bugle", hours: float = 0,
             published: datetime | None = None, language: str = "en", **fields) -> Article:
        outlet, _ = Source.objects.get_or_create(name=source)
        n = next(_urls)
        return Article.objects.create(
            source=outlet, url=f"https://{outlet.name.lower().replace(' ', '')}.example/a/{n}", title=title,
            text=text, published_at=published or BASE + timedelta(hours=hours), language=language,
            extraction_status=ExtractionStatus.DONE, word_count=len(text.split()), **fields)

    return make


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    return vector / np.linalg.norm(vector)

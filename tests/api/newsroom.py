"""A small newsroom in the real test database: three sources, tagged articles (some not yet
readable), a story covered by two outlets, related links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from newsstand.ingest.models import Source
from newsstand.news.models import Article, ArticleTag, ExtractionStatus, RelatedArticle, Story, Tag

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Newsroom:
    sources: list[Source]
    tags: list[Tag]
    story: Story
    visible: list[Article]   # newest first, as the API lists them
    pending: Article
    failed: Article


def make_article(source: Source, n: int, *, when: datetime | None = None, title: str | None = None,
                 status: str = ExtractionStatus.DONE, **extra) -> Article:
    fields = {
        "url": f"https://{source.name.lower().replace(' ', '')}.example/a/{n}",
        "title": title or f"Harbour bridge report {n}",
        "published_at": when or T0 - timedelta(hours=n),
        "byline": "Jane Reporter",
        "text": f"Full text of report {n} about the harbour bridge.",
        "html": f"<p>Full text of report {n} about the harbour bridge.</p>",
        "extraction_status": status,
        **extra,
    }
    return Article.objects.create(source=source, **fields)


def build_newsroom(count: int = 6) -> Newsroom:
    sources = [Source.objects.create(name=name, homepage_url=f"https://{slug}.example/",
                                     attribution=f"From {name}")
               for name, slug in (("Daily Planet", "dailyplanet"), ("Wikinews", "wikinews"), ("The Bugle", "bugle"))]
    tags = [Tag.objects.create(slug="harbourbridge", name="HarbourBridge", kind=Tag.Kind.PLACE, article_count=2),
            Tag.objects.create(slug="transport", name="Transport", article_count=1)]
    story = Story.objects.create(headline="Harbour bridge reopens", first_seen_at=T0 - timedelta(days=1),
                                 last_updated_at=T0, article_count=2, source_count=2)
    visible = [make_article(sources[i % 3], i, status=ExtractionStatus.DONE if i % 2 else ExtractionStatus.FEED_ONLY)
               for i in range(count)]
    for article in visible[:2]:
        article.story = story
        article.image_url = f"https://cdn.example/{article.pk}.jpg"
        article.save(update_fields=["story", "image_url"])
    ArticleTag.objects.create(article=visible[0], tag=tags[0], score=0.9)
    ArticleTag.objects.create(article=visible[0], tag=tags[1], score=0.4)
    ArticleTag.objects.create(article=visible[1], tag=tags[0], score=0.8)
    pending = make_article(sources[0], 100, status=ExtractionStatus.PENDING, story=story,
                           when=T0 + timedelta(hours=1), title="Not yet readable")
    failed = make_article(sources[1], 101, status=ExtractionStatus.FAILED, when=T0 + timedelta(hours=2),
                          title="Failed to read")
    RelatedArticle.objects.create(article=visible[0], related=visible[1], score=0.91, reason="same story", rank=0)
    RelatedArticle.objects.create(article=visible[0], related=visible[2], score=0.5,
                                  reason="also about #HarbourBridge", rank=1)
    RelatedArticle.objects.create(article=visible[0], related=pending, score=0.99, reason="same story", rank=2)
    return Newsroom(sources, tags, story, visible, pending, failed)

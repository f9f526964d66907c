"""Model rows to JSON-ready dicts: plain functions, one per shape in the OpenAPI schema
(newsstand.api.openapi). They never query: callers load sources, tags and related rows up
front (select_related / prefetch), which is what keeps every endpoint's query count fixed."""

from __future__ import annotations

from datetime import datetime, timezone as dt_timezone

from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from newsstand.ingest.models import Source
from newsstand.news.models import Article, ArticleTag, RelatedArticle, Story, Tag

# What a list item reads; the body columns can be hundreds of kilobytes per row.
ITEM_FIELDS = ("id", "url", "title", "published_at", "story_id", "image_url", "source__id", "source__name")
DETAIL_FIELDS = (*ITEM_FIELDS, "byline", "text", "html")


def tags_prefetch() -> Prefetch:
    """One extra query for all the tags of all the rows, best-scored first."""
    return Prefetch(
        "articletag_set",
        queryset=ArticleTag.objects.select_related("tag").order_by("-score", "tag__name"),
        to_attr="api_tags",
    )


def with_tags(qs: QuerySet[Article]) -> QuerySet[Article]:
    return qs.prefetch_related(tags_prefetch())


def items_queryset(qs: QuerySet[Article]) -> QuerySet[Article]:
    return with_tags(qs.select_related("source").only(*ITEM_FIELDS))


def iso(when: datetime | None) -> str | None:
    return when.astimezone(dt_timezone.utc).isoformat() if when else None


def source_ref(source: Source) -> dict:
    return {"id": source.id, "name": source.name}


def tag(t: Tag) -> dict:
    return {"slug": t.slug, "name": t.name, "kind": t.kind}


class Links:
    """Absolute URLs of our own pages, built from one absolute prefix per request."""

    def __init__(self, request) -> None:
        self.base = request.build_absolute_uri("/").rstrip("/")

    def article(self, pk: int) -> str:
        return self.base + reverse("article", args=[pk])


def article_item(a: Article, links: Links) -> dict:
    tags = getattr(a, "api_tags", None)
    return {
        "id": a.id,
        "url": a.url,
        "permalink": links.article(a.id),
        "title": a.title,
        "source": source_ref(a.source),
        "published_at": iso(a.published_at),
        "story_id": a.story_id,
        "tags": [tag(at.tag) for at in tags] if tags is not None else [],
        "image": a.image_url or None,
    }


def related_item(r: RelatedArticle) -> dict:
    return {
        "id": r.related.id,
        "title": r.related.title,
        "source": source_ref(r.related.source),
        "score": round(float(r.score), 4),
        "reason": r.reason,
    }


def article_detail(a: Article, related: list[RelatedArticle], links: Links) -> dict:
    return {
        **article_item(a, links),
        "byline": a.byline,
        "text": a.text,
        "html": a.html,
        "related": [related_item(r) for r in related],
    }


def story(s: Story, articles: list[Article], articles_next: str | None, links: Links) -> dict:
    return {
        "id": s.id,
        "headline": s.headline,
        "first_seen_at": iso(s.first_seen_at),
        "last_updated_at": iso(s.last_updated_at),
        "article_count": s.article_count,
        "source_count": s.source_count,
        "articles": [article_item(a, links) for a in articles],
        "articles_next": articles_next,
    }


def source(s: Source) -> dict:
    return {
        "id": s.id,
        "name": s.name,
        "homepage_url": s.homepage_url or None,
        "favicon_url": s.favicon_url or None,
        "attribution": s.attribution,
        "license_url": s.license_url or None,
        "article_count": s.api_article_count,
    }


def tag_item(t: Tag) -> dict:
    return {**tag(t), "article_count": t.article_count}

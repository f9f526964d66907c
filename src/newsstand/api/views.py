"""The JSON API (DESIGN.md "JSON API"; every path, parameter and shape is in openapi.py).

Views parse parameters strictly (api.http), run a fixed number of queries and hand rows to the
serializers. Only readable articles are ever shown (Article.objects.visible())."""

from __future__ import annotations

import base64
import binascii

from django.db.models import Count, Q, prefetch_related_objects

from newsstand.api import serializers as ser
from newsstand.api.http import (
    ApiError, api_view, cursor_param, decode_cursor, encode_cursor, error_response, int_param,
    is_number, json_response, limit_param, param, since_param,
)
from newsstand.ingest.models import Source
from newsstand.news.models import Article, ExtractionStatus, RelatedArticle, Story, Tag
from newsstand.news.search import search_articles

# The query parameters each listing reads; the OpenAPI test checks the schema names exactly these.
ARTICLE_LIST_PARAMS = ("source", "tag", "story", "q", "since", "limit", "cursor")
TAG_LIST_PARAMS = ("limit", "cursor")
STORY_ARTICLES_SHOWN = 100
HIDDEN = (ExtractionStatus.PENDING, ExtractionStatus.FAILED)
MAX_ID = 2**63  # ids in the path beyond a 64-bit integer cannot exist (and would overflow SQLite)


def _newest_first_page(qs, cursor: str | None, limit: int):
    """Keyset pagination on (published_at, id), newest first: as cheap on page 500 as on page 1,
    and no item is repeated or skipped when new articles arrive between two requests."""
    qs = qs.order_by("-published_at", "-id")
    if cursor:
        when, pk = decode_cursor(cursor)
        qs = qs.filter(Q(published_at__lt=when) | Q(published_at=when, id__lt=pk))
    rows = list(qs[: limit + 1])
    items = rows[:limit]
    return items, (encode_cursor(items[-1].published_at, items[-1].id) if len(rows) > limit else None)


def _source_id(value: str) -> int | None:
    """`source` is a source id or its exact name (any case); an unknown one matches nothing."""
    if is_number(value):
        return int(value) if int(value) < MAX_ID else 0
    return Source.objects.filter(name__iexact=value).values_list("id", flat=True).first()


@api_view
def article_list(request):
    limit = limit_param(request)
    cursor = cursor_param(request)
    since = since_param(request)
    story_id = int_param(request, "story")
    tag_slug = (param(request, "tag") or "").lstrip("#").lower() or None
    source = param(request, "source")
    query = param(request, "q")
    links = ser.Links(request)
    source_id = _source_id(source) if source else None
    if source and source_id is None:
        return json_response({"items": [], "next": None})
    if query is not None:
        return _search(query, source_id, since, tag_slug, story_id, limit, cursor, links)
    qs = Article.objects.visible()
    if source_id is not None:
        qs = qs.filter(source_id=source_id)
    if story_id is not None:
        qs = qs.filter(story_id=story_id)
    if tag_slug is not None:
        qs = qs.filter(articletag__tag__slug=tag_slug)
    if since is not None:
        qs = qs.filter(published_at__gte=since)
    items, next_cursor = _newest_first_page(ser.items_queryset(qs), cursor, limit)
    return json_response({"items": [ser.article_item(a, links) for a in items], "next": next_cursor})


def _search(query, source_id, since, tag_slug, story_id, limit, cursor, links):
    """q= goes to the site's full-text search (news.search: FTS5 on SQLite, tsvector on
    PostgreSQL), best match first. That engine filters by source and date only, so tag and
    story cannot be combined with q; saying so beats returning short, misleading pages."""
    if tag_slug is not None or story_id is not None:
        raise ApiError(400, "q cannot be combined with tag or story (search filters by source and since)")
    page = search_articles(query, source_id=source_id, since=since, limit=limit, cursor=cursor)
    articles = [hit.article for hit in page.hits]
    prefetch_related_objects(articles, ser.tags_prefetch())
    return json_response({"items": [ser.article_item(a, links) for a in articles], "next": page.next_cursor})


@api_view
def article_detail(request, article_id: int):
    if article_id >= MAX_ID:
        raise ApiError(404, f"There is no article {article_id}")
    article = (ser.with_tags(Article.objects.visible().select_related("source").only(*ser.DETAIL_FIELDS))
               .filter(pk=article_id).first())
    if article is None:
        raise ApiError(404, f"There is no article {article_id}")
    related = list(
        RelatedArticle.objects.filter(article_id=article_id)
        .exclude(related__extraction_status__in=HIDDEN)
        .select_related("related__source")
        .only("score", "reason", "rank", "related__id", "related__title",
              "related__source__id", "related__source__name")
        .order_by("rank", "-score")
    )
    return json_response(ser.article_detail(article, related, ser.Links(request)))


@api_view
def story_detail(request, story_id: int):
    story = Story.objects.filter(pk=story_id).first() if story_id < MAX_ID else None
    if story is None:
        raise ApiError(404, f"There is no story {story_id}")
    qs = ser.items_queryset(Article.objects.visible().filter(story_id=story_id))
    articles, more = _newest_first_page(qs, None, STORY_ARTICLES_SHOWN)
    return json_response(ser.story(story, articles, more, ser.Links(request)))


@api_view
def source_list(request):
    sources = list(Source.objects.order_by("name"))
    # Readable articles per source as "all minus hidden": each count walks an index (all: the
    # source index; hidden: the status index), where one filtered COUNT would read every row.
    per_source = lambda qs: dict(qs.order_by().values_list("source_id").annotate(n=Count("id")))  # noqa: E731
    total = per_source(Article.objects.all())
    hidden = per_source(Article.objects.filter(extraction_status__in=HIDDEN))
    for s in sources:
        s.api_article_count = total.get(s.id, 0) - hidden.get(s.id, 0)
    return json_response({"items": [ser.source(s) for s in sources]})


def _encode_tag_cursor(t: Tag) -> str:
    return base64.urlsafe_b64encode(f"t|{t.article_count}|{t.id}".encode()).decode().rstrip("=")


def _decode_tag_cursor(cursor: str) -> tuple[int, int]:
    try:
        kind, count, pk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii").split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind = count = pk = ""
    if kind != "t" or not is_number(count) or not is_number(pk) or len(count) > 18 or len(pk) > 18:
        raise ApiError(400, "cursor is not one this API made; pass the `next` value of the previous page")
    return int(count), int(pk)


@api_view
def tag_list(request):
    """Most-used first; keyset-paginated on (article_count, id)."""
    limit = limit_param(request, default=100, maximum=1000)
    cursor = cursor_param(request)
    qs = Tag.objects.order_by("-article_count", "-id")
    if cursor:
        count, pk = _decode_tag_cursor(cursor)
        qs = qs.filter(Q(article_count__lt=count) | Q(article_count=count, id__lt=pk))
    rows = list(qs[: limit + 1])
    items = rows[:limit]
    next_cursor = _encode_tag_cursor(items[-1]) if len(rows) > limit else None
    return json_response({"items": [ser.tag_item(t) for t in items], "next": next_cursor})


@api_view
def openapi_schema(request):
    from newsstand.api.openapi import schema

    return json_response(schema(request.build_absolute_uri("/").rstrip("/")))


@api_view
def not_found(request, rest: str = ""):
    return error_response(404, f"There is no API endpoint /api/{rest}; see /api/openapi.json")

"""Listing queries for the reader pages: keyset pagination, "first N per group" and the
ranking of top stories. Views call these and only render; each function issues a fixed
number of queries whatever the number of items, so no page grows N+1 queries."""

from __future__ import annotations

import base64
import binascii
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import connection
from django.db.models import F, Prefetch, QuerySet, Value
from django.db.models.functions import Coalesce

from newsstand.ingest.models import Source
from newsstand.news.models import Article, RelatedArticle, Story, Tag

PAGE_SIZE = 20
# Columns a listing card never shows; an article body can be hundreds of kilobytes.
HEAVY_FIELDS = ("html", "text", "feed_content_html", "summary_html", "embedding", "extraction_error")


class InvalidQuery(ValueError):
    """A request parameter that cannot be read (a tampered cursor, a bad date); views answer 400."""


# --- cursors ------------------------------------------------------------------------------
# A cursor is the (published_at, id) of the last item shown, packed as two signed 64-bit
# integers (microseconds since the epoch, id) and base64url-encoded: opaque to readers,
# stable across processes and cheap to check strictly.
_CURSOR = struct.Struct(">qq")
EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


def encode_cursor(published_at: datetime, article_id: int) -> str:
    micros = (published_at - EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(_CURSOR.pack(micros, article_id)).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        micros, article_id = _CURSOR.unpack(raw)
        published_at = EPOCH + timedelta(microseconds=micros)
    except (binascii.Error, struct.error, ValueError, OverflowError) as exc:
        raise InvalidQuery("the cursor is not one this site made") from exc
    if article_id <= 0:
        raise InvalidQuery("the cursor is not one this site made")
    return published_at, article_id


@dataclass(frozen=True)
class Page:
    items: list[Article]
    next_cursor: str | None


def listing(qs: QuerySet[Article]) -> QuerySet[Article]:
    """What every list card needs in one query: the source and the story counts."""
    return qs.select_related("source", "story").defer(*HEAVY_FIELDS).order_by("-published_at", "-id")


def page_after(qs: QuerySet[Article], cursor: str | None, size: int = PAGE_SIZE) -> Page:
    """Keyset pagination on (published_at, id), newest first: unlike OFFSET it costs the same
    on page 500 as on page 1 and never repeats or skips an item when new articles arrive."""
    qs = listing(qs)
    if cursor:
        when, last_id = decode_cursor(cursor)
        # Spelled as a range plus an exclusion (not an OR) so the database walks the
        # (published_at, id) index from the cursor instead of scanning.
        qs = qs.filter(published_at__lte=when).exclude(published_at=when, id__gte=last_id)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    items = rows[:size]
    next_cursor = encode_cursor(items[-1].published_at, items[-1].pk) if more else None
    return Page(items, next_cursor)


def readable() -> QuerySet[Article]:
    return Article.objects.visible()


def front_page_articles() -> QuerySet[Article]:
    """Reprints point at their original, which the original's page lists as "also published
    by"; showing both in one list would repeat the same text.

    Written as COALESCE(duplicate_of_id, 0) = 0 rather than IS NULL: nearly every row
    matches, yet SQLite's planner would pick the foreign-key index for IS NULL and then
    sort the whole table, instead of walking the (published_at, id) index and stopping."""
    return readable().alias(copy_of=Coalesce("duplicate_of_id", Value(0))).filter(copy_of=0)


# --- first N per group ---------------------------------------------------------------------
def first_per_group(groups: Sequence[QuerySet[Article]], size: int) -> list[list[Article]]:
    """The first `size` articles of each queryset, in two queries whatever the number of groups.

    A window function (ROW_NUMBER() OVER PARTITION BY) would number every row of every group
    before keeping four; a UNION ALL of small LIMIT subqueries lets each branch walk its index
    and stop. Django cannot slice inside a compound query on SQLite, so the branches are built
    by the ORM and only glued here; the group number is an int we format, never user input."""
    if not groups:
        return []
    parts, params = [], []
    for number, qs in enumerate(groups):
        sql, branch_params = qs.values_list("id", flat=True)[:size].query.sql_with_params()
        parts.append(f"SELECT {int(number)} AS grp, sub{number}.id FROM ({sql}) sub{number}")
        params.extend(branch_params)
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(parts), params)
        pairs = cur.fetchall()
    by_id = listing(Article.objects.filter(id__in={pk for _, pk in pairs})).in_bulk()
    result: list[list[Article]] = [[] for _ in groups]
    for number, pk in pairs:
        if pk in by_id:
            result[number].append(by_id[pk])
    for items in result:
        items.sort(key=lambda a: (a.published_at, a.pk), reverse=True)
    return result


# --- top stories ---------------------------------------------------------------------------
@dataclass
class StoryCard:
    story: Story
    articles: list[Article] = field(default_factory=list)

    @property
    def image_url(self) -> str:
        """The newest coverage with an image, else the article that broke the story."""
        found = next((a.image_url for a in self.articles if a.image_url), "")
        return found or getattr(self.story, "first_image", None) or ""


def coverage_rank(stories: Iterable[Story], reference: datetime) -> list[Story]:
    """Order stories by how many outlets cover them, discounted by age (hours behind
    `reference`), like a news desk: a story five outlets ran this morning beats one outlet's
    story from last week. Pure, so it is tested with fixed times."""

    def weight(story: Story) -> float:
        hours = max((reference - story.last_updated_at).total_seconds() / 3600, 0.0)
        return max(story.source_count, 1) / math.pow(hours + 2, 1.5)

    return sorted(stories, key=lambda s: (weight(s), s.last_updated_at, s.pk), reverse=True)


def top_stories(limit: int = 6, per_story: int = 3) -> list[StoryCard]:
    """Intel scores stories when it has run; until it has (every score 0), rank the most
    recently updated stories by coverage and recency, measured from the newest of them so a
    quiet archive (the demo's) still has a sensible front page."""
    stories = Story.objects.filter(article_count__gt=0).annotate(first_image=F("first_article__image_url"))
    scored = list(stories.filter(score__gt=0).order_by("-score", "-last_updated_at")[:limit])
    if not scored:
        candidates = list(stories.order_by("-last_updated_at")[:100])
        if not candidates:
            return []
        scored = coverage_rank(candidates, candidates[0].last_updated_at)[:limit]
    groups = [readable().filter(story=s) for s in scored]
    return [StoryCard(s, items) for s, items in zip(scored, first_per_group(groups, per_story), strict=True)]


# --- home sections ------------------------------------------------------------------------
def source_sections(recent: Sequence[Article], count: int = 4, per_source: int = 4) -> list[tuple[Source, list[Article]]]:
    """Sections for the publishers that published most recently: taken from the latest page
    (already loaded), so choosing them costs no query."""
    chosen: list[Source] = []
    for item in recent:
        if item.source not in chosen:
            chosen.append(item.source)
        if len(chosen) == count:
            break
    if len(chosen) < 2:
        return []  # one publisher's section would repeat the latest list line for line
    groups = [front_page_articles().filter(source=s) for s in chosen]
    return [(s, items) for s, items in zip(chosen, first_per_group(groups, per_source), strict=True) if items]


def tag_sections(count: int = 4, per_tag: int = 4) -> list[tuple[Tag, list[Article]]]:
    tags = list(Tag.objects.filter(article_count__gt=0).order_by("-article_count", "name")[:count])
    groups = [front_page_articles().filter(articletag__tag=t) for t in tags]
    return [(t, items) for t, items in zip(tags, first_per_group(groups, per_tag), strict=True) if items]


# --- single pages -------------------------------------------------------------------------
def article_for_page(article_id: int) -> Article | None:
    """The article with everything its page shows, in a fixed number of queries."""
    related = (RelatedArticle.objects.filter(related__in=readable())
               .select_related("related__source").order_by("rank", "-score")
               .defer(*(f"related__{name}" for name in HEAVY_FIELDS if name != "text")))
    qs = (
        readable()
        .select_related("source", "story", "duplicate_of__source")
        .defer(*(f"duplicate_of__{name}" for name in HEAVY_FIELDS), "embedding")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("-articletag__score", "name")),
            Prefetch("related_links", queryset=related),
            "headline_history",
            Prefetch("duplicates", queryset=listing(readable()).order_by("published_at", "id")),
        )
    )
    return qs.filter(pk=article_id).first()


def source_by_key(key: str) -> Source | None:
    """/sources/12 or /sources/the-guardian: names are unique, so their slug almost always
    is; when two names slug alike, the older source keeps the slug (the other keeps its id)."""
    from django.utils.text import slugify

    if key.isdigit():
        return Source.objects.filter(pk=int(key)).first()
    for source in Source.objects.order_by("id").only("id", "name"):
        if slugify(source.name) == key:
            return Source.objects.get(pk=source.pk)
    return None


def sources_for_filter() -> list[Source]:
    return list(Source.objects.order_by("name").only("id", "name"))

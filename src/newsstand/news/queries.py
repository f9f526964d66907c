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
from django.db.models import Exists, F, Max, OuterRef, QuerySet, Value
from django.db.models.functions import Coalesce

from newsstand.ingest.models import Source
from newsstand.news.models import Article, ArticleTag, ExtractionStatus, HeadlineChange, RelatedArticle, Story, Tag

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


# What Article.objects.visible() leaves out, for filtering a joined article in the same query.
HIDDEN_STATUSES = (ExtractionStatus.PENDING, ExtractionStatus.FAILED)


def readable() -> QuerySet[Article]:
    return Article.objects.visible()


def front_page_articles() -> QuerySet[Article]:
    """Reprints point at their original, which the original's page lists as "also published
    by"; showing both in one list would repeat the same text.

    On SQLite written as COALESCE(duplicate_of_id, 0) = 0 rather than IS NULL: nearly every
    row matches, yet SQLite's planner would pick the foreign-key index for IS NULL and then
    sort the whole table, instead of walking the (published_at, id) index and stopping.
    PostgreSQL is the other way round: it knows from its statistics that IS NULL matches
    nearly every row, but guesses an equality on an expression matches almost none, and then
    sorts a whole source's articles instead of walking its (source, published_at) index."""
    if connection.vendor == "sqlite":
        return readable().alias(copy_of=Coalesce("duplicate_of_id", Value(0))).filter(copy_of=0)
    return readable().filter(duplicate_of__isnull=True)


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
    if not tags:
        return []
    span = article_span()
    groups = [tagged(front_page_articles(), t, per_tag, span) for t in tags]
    return [(t, items) for t, items in zip(tags, first_per_group(groups, per_tag), strict=True) if items]


# --- articles with a tag ------------------------------------------------------------------
# The newest N articles with a tag can be found two ways, and each alone grows with the data:
#  - join: every article the tag has, sorted by date, the first N kept. Costs the tag's size:
#    fine for a rare tag, a sort of 100,000 rows for a tag like #Politics.
#  - walk: the newest articles of all, newest first (an index), each checked for the tag (a
#    probe of the (article, tag) unique index) until N are found. Costs N × (articles per
#    tagged article): a few hundred rows for a common tag, the whole table for a rare one.
# Choosing by the tag's stored article_count keeps the cost near the smaller of the two, at
# most about sqrt(N × all articles) rows. A walked row costs about a tenth of a sorted one
# (measured on SQLite: the walk reads only article_listing_idx; the join reads each row).
WALKED_ROWS_PER_SORTED_ROW = 10


def article_span() -> int:
    """How many articles there are, roughly: the highest id (one index lookup, unlike COUNT)."""
    return Article.objects.aggregate(n=Max("id"))["n"] or 0


def tagged(qs: QuerySet[Article], tag: Tag, wanted: int = PAGE_SIZE, span: int | None = None) -> QuerySet[Article]:
    """`qs` narrowed to articles carrying `tag`, in the shape that is cheaper for this tag."""
    span = article_span() if span is None else span
    count = max(tag.article_count, 1)
    if wanted * span / count <= WALKED_ROWS_PER_SORTED_ROW * count:
        return qs.filter(Exists(ArticleTag.objects.filter(article=OuterRef("pk"), tag=tag)))
    return qs.filter(articletag__tag=tag)


# --- single pages -------------------------------------------------------------------------
# The article page is what readers open most, and each page is rendered for its first
# reader (then cached). Through the ORM its five queries cost ~5 ms to build, most of it
# compiling SQL (prefetch_related, select_related, default orderings); the same queries
# written out and read with raw(), which still converts fields as the ORM does, cost about a
# tenth of that. Plain SQL that SQLite and PostgreSQL both read; table names come from the
# models, values are always parameters.
_A, _S, _ST = Article._meta.db_table, Source._meta.db_table, Story._meta.db_table
_SOURCE_FIELDS = ("name", "homepage_url", "favicon_url", "logo_url", "attribution", "license_url")
_SOURCE_COLUMNS = ", ".join(f's."{name}" AS "source__{name}"' for name in _SOURCE_FIELDS)
_VISIBLE = 'a."extraction_status" NOT IN (%s, %s)'

_ARTICLE_SQL = f"""
SELECT a."id", a."source_id", a."story_id", a."duplicate_of_id", a."url", a."title", a."byline",
       a."published_at", a."updated_at", a."html", a."text", a."image_url", a."language",
       {_SOURCE_COLUMNS}, st."source_count" AS "story__source_count", st."article_count" AS "story__article_count",
       EXISTS (SELECT 1 FROM "{HeadlineChange._meta.db_table}" h WHERE h."article_id" = a."id") AS "has_history",
       EXISTS (SELECT 1 FROM "{_A}" d WHERE d."duplicate_of_id" = a."id"
               AND d."extraction_status" NOT IN (%s, %s)) AS "has_copies"
FROM "{_A}" a
JOIN "{_S}" s ON s."id" = a."source_id"
LEFT JOIN "{_ST}" st ON st."id" = a."story_id"
WHERE a."id" = %s AND {_VISIBLE}
"""

_TAGS_SQL = f"""
SELECT t."id", t."slug", t."name" FROM "{Tag._meta.db_table}" t
JOIN "{ArticleTag._meta.db_table}" x ON x."tag_id" = t."id"
WHERE x."article_id" = %s ORDER BY x."score" DESC, t."name"
"""

_RELATED_SQL = f"""
SELECT a."id", a."source_id", a."title", a."image_url", a."text", a."published_at",
       {_SOURCE_COLUMNS}, r."reason" AS "reason"
FROM "{RelatedArticle._meta.db_table}" r
JOIN "{_A}" a ON a."id" = r."related_id"
JOIN "{_S}" s ON s."id" = a."source_id"
WHERE r."article_id" = %s AND {_VISIBLE} ORDER BY r."rank", r."score" DESC
"""

_HISTORY_SQL = f"""
SELECT h."id", h."article_id", h."title", h."replaced_at" FROM "{HeadlineChange._meta.db_table}" h
WHERE h."article_id" = %s ORDER BY h."replaced_at", h."id"
"""

_COPY_COLUMNS = f'a."id", a."source_id", a."published_at", {_SOURCE_COLUMNS}'
_COPIES_SQL = f"""
SELECT {_COPY_COLUMNS} FROM "{_A}" a JOIN "{_S}" s ON s."id" = a."source_id"
WHERE a."duplicate_of_id" = %s AND {_VISIBLE} ORDER BY a."published_at", a."id"
"""

_ORIGINAL_SQL = f"""
SELECT {_COPY_COLUMNS} FROM "{_A}" a JOIN "{_S}" s ON s."id" = a."source_id" WHERE a."id" = %s
"""


@dataclass
class ArticlePage:
    """An article (with .source, and .story when it has one) and what its page lists."""
    article: Article
    tags: list[Tag]
    related: list[Article]  # each with .reason, why it is related
    history: list[HeadlineChange]  # earlier headlines, oldest first
    copies: list[Article]  # reprints of it, oldest first
    original: Article | None  # what it reprints


def _with_source(item: Article) -> Article:
    """Attach the Source whose columns the query read as source__<field>."""
    values = {name: getattr(item, f"source__{name}") for name in _SOURCE_FIELDS}
    item.source = Source(id=item.source_id, **values)
    return item


def article_for_page(article_id: int) -> ArticlePage | None:
    """The article with everything its page shows: at most six short queries, three for an
    article that is neither retitled nor reprinted (most of them)."""
    hidden = [str(status) for status in HIDDEN_STATUSES]
    item = next(iter(Article.objects.raw(_ARTICLE_SQL, [*hidden, article_id, *hidden])), None)
    if item is None:
        return None
    _with_source(item)
    if item.story_id is not None:
        item.story = Story(id=item.story_id, source_count=item.story__source_count,
                           article_count=item.story__article_count)
    original = None
    if item.duplicate_of_id:
        original = next(iter(Article.objects.raw(_ORIGINAL_SQL, [item.duplicate_of_id])), None)
        original = original and _with_source(original)
    return ArticlePage(
        article=item,
        tags=list(Tag.objects.raw(_TAGS_SQL, [article_id])),
        related=[_with_source(a) for a in Article.objects.raw(_RELATED_SQL, [article_id, *hidden])],
        history=list(HeadlineChange.objects.raw(_HISTORY_SQL, [article_id])) if item.has_history else [],
        copies=[_with_source(a) for a in Article.objects.raw(_COPIES_SQL, [article_id, *hidden])]
        if item.has_copies else [],
        original=original,
    )


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


# --- indexes these queries rely on --------------------------------------------------------
# Created by migration 0004 and re-created after every `migrate` (newsstand.web.apps), since
# SQLite rebuilds a table to alter it and keeps only the indexes the models declare. Plain SQL
# that both databases read; IF NOT EXISTS makes installing them again a no-op.
PAGE_INDEXES = {
    # The site version (newsstand.web.pagecache) reads MAX(extracted_at): when an article
    # became readable. One index step instead of a scan.
    "article_extracted_idx": 'ON news_article ("extracted_at")',
    # A story's articles newest first (story pages, top-story coverage) without a sort.
    "article_story_recent_idx": 'ON news_article ("story_id", "published_at" DESC, "id" DESC, "extraction_status")',
    # Home's tag sections: the most used tags without sorting every tag.
    "tag_popular_idx": 'ON news_tag ("article_count" DESC, "name")',
}
# SQLite stores a row's columns in declaration order, and news_article declares the columns
# listings filter on (extraction_status, duplicate_of_id) after the article text: reading them
# means reading the text's overflow pages too, kilobytes per row. These narrow copies let the
# listings filter and sort without touching the rows they skip. PostgreSQL keeps long text out
# of line (TOAST), so its rows are cheap to read and it needs neither.
SQLITE_PAGE_INDEXES = {
    # Walks newest first (front page, tags checked per row) that skip hidden rows cheaply.
    "article_listing_idx": 'ON news_article ("published_at" DESC, "id" DESC, "extraction_status", "duplicate_of_id")',
    # Looking an article up by id only to filter or sort it (a tag's articles, joined).
    "article_narrow_idx": 'ON news_article ("id", "published_at", "extraction_status", "duplicate_of_id")',
}


def page_indexes(vendor: str) -> dict[str, str]:
    return {**PAGE_INDEXES, **(SQLITE_PAGE_INDEXES if vendor == "sqlite" else {})}


def install_page_indexes(conn) -> None:
    if conn.vendor not in ("sqlite", "postgresql"):
        return
    with conn.cursor() as cur:
        for name, definition in page_indexes(conn.vendor).items():
            cur.execute(f'CREATE INDEX IF NOT EXISTS "{name}" {definition}')


def uninstall_page_indexes(conn) -> None:
    if conn.vendor not in ("sqlite", "postgresql"):
        return
    with conn.cursor() as cur:
        for name in page_indexes(conn.vendor):
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')

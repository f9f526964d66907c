"""Full-text search over articles: one interface, two engines.

SQLite (the embedded default) uses an FTS5 table with external content (news_article is
the content; triggers keep the index in step with every insert, update and delete, bulk
ones included). PostgreSQL computes a weighted tsvector in the query and finds rows through
a GIN index on that same expression, so there is no extra column to keep in sync.

Both engines read the same small query language (words, "quoted phrases", OR, -exclusions),
parsed once here, so a query means the same thing on either database."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection as default_connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from newsstand.news.models import Article, ExtractionStatus
from newsstand.news.queries import HEAVY_FIELDS, InvalidQuery

MAX_QUERY_CHARS = 300
MAX_OFFSET = 1000  # ranked results have no stable key; deep pages are cut off instead
# Markers the engines put around matched words; escaped text never contains them, so
# after escaping they are swapped for our own <mark> and nothing else becomes markup.
OPEN, CLOSE = "\x02", "\x03"
WEIGHTS = {"title": 10.0, "byline": 3.0, "text": 1.0}


# --- the query language ----------------------------------------------------------------
@dataclass(frozen=True)
class ParsedQuery:
    groups: tuple[tuple[str, ...], ...]  # AND of groups; each group is an OR of phrases
    excluded: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.groups


_PIECE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")


def parse_query(raw: str) -> ParsedQuery:
    """Read a reader's query. Only word characters survive inside a phrase, so no operator
    of either engine can be smuggled in; a query of punctuation parses as empty."""
    groups: list[list[str]] = []
    excluded: list[str] = []
    join_next = False
    for match in _PIECE.finditer(raw):
        negated, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare is not None and bare.upper() == "OR":
            join_next = bool(groups)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        phrase = " ".join(_WORD.findall(quoted if quoted is not None else bare)).lower()
        if not phrase:
            continue
        if negated:
            excluded.append(phrase)
        elif join_next:
            groups[-1].append(phrase)
        else:
            groups.append([phrase])
        join_next = False
    return ParsedQuery(tuple(tuple(g) for g in groups), tuple(excluded))


def to_fts5(query: ParsedQuery) -> str:
    def group(phrases):
        return "(" + " OR ".join(f'"{p}"' for p in phrases) + ")"

    match = " AND ".join(group(g) for g in query.groups)
    for phrase in query.excluded:
        match = f'({match}) NOT "{phrase}"'
    return match


def to_websearch(query: ParsedQuery) -> str:
    parts = [" or ".join(f'"{p}"' for p in g) for g in query.groups]
    parts += [f'-"{p}"' for p in query.excluded]
    return " ".join(parts)


def marked(raw: str | None) -> SafeString:
    """Escape everything, then turn the engine's markers into <mark>; unbalanced markers
    (a cut fragment) are dropped rather than leaving a <mark> open. Whitespace is collapsed:
    a fragment cut at a paragraph break began with a stray space."""
    text = escape(" ".join((raw or "").split()))
    if text.count(OPEN) != text.count(CLOSE):
        return mark_safe(text.replace(OPEN, "").replace(CLOSE, ""))
    return mark_safe(text.replace(OPEN, "<mark>").replace(CLOSE, "</mark>"))


# --- results ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float
    title_html: SafeString
    snippet_html: SafeString


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[SearchHit]
    next_cursor: str | None


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidQuery("the cursor is not one this site made") from exc
    if not re.fullmatch(r"o\d{1,6}", text) or int(text[1:]) > MAX_OFFSET:
        raise InvalidQuery("the cursor is not one this site made")
    return int(text[1:])


@dataclass(frozen=True)
class _Filters:
    source_id: int | None
    since: datetime | None
    until: datetime | None

    def sql(self, conn, alias: str) -> tuple[str, list]:
        clauses = [f"{alias}.extraction_status NOT IN (%s, %s)"]
        params: list = [ExtractionStatus.PENDING.value, ExtractionStatus.FAILED.value]
        if self.source_id is not None:
            clauses.append(f"{alias}.source_id = %s")
            params.append(self.source_id)
        if self.since is not None:
            clauses.append(f"{alias}.published_at >= %s")
            params.append(conn.ops.adapt_datetimefield_value(self.since))
        if self.until is not None:
            clauses.append(f"{alias}.published_at < %s")
            params.append(conn.ops.adapt_datetimefield_value(self.until))
        return " AND ".join(clauses), params


def search_articles(
    query: str,
    *,
    source_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    cursor: str | None = None,
    order: str = "relevance",
    connection=None,
) -> SearchPage:
    """Readable articles matching `query`, best first (or newest first with order="newest"),
    with the title and a text fragment highlighted. Raises InvalidQuery for a bad cursor or
    an over-long query; a query with no words simply finds nothing."""
    conn = connection or default_connection
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(f"the search is longer than {MAX_QUERY_CHARS} characters")
    if order not in ("relevance", "newest"):
        raise InvalidQuery("order must be relevance or newest")
    offset = decode_offset(cursor) if cursor else 0
    parsed = parse_query(query)
    if parsed.empty:
        return SearchPage(query, [], None)
    engine = _ENGINES.get(conn.vendor)
    if engine is None:
        raise NotImplementedError(f"search needs SQLite or PostgreSQL, not {conn.vendor}")
    filters = _Filters(source_id, since, until)
    rows = engine.ranked_ids(conn, parsed, filters, order, limit + 1, offset)
    more = len(rows) > limit
    rows = rows[:limit]
    highlights = engine.highlights(conn, parsed, [pk for pk, _ in rows]) if rows else {}
    articles = Article.objects.select_related("source", "story").defer(*HEAVY_FIELDS).in_bulk([pk for pk, _ in rows])
    hits = [
        SearchHit(articles[pk], score, marked(highlights[pk][0]), marked(highlights[pk][1]))
        for pk, score in rows
        if pk in articles and pk in highlights
    ]
    next_offset = offset + limit
    next_cursor = encode_offset(next_offset) if more and next_offset <= MAX_OFFSET else None
    return SearchPage(query, hits, next_cursor)


# --- SQLite: FTS5 ------------------------------------------------------------------------
FTS_TABLE = "news_article_fts"
_COLUMNS = ("title", "byline", "text")
_TRIGGERS = {
    "news_article_fts_ai": f"""CREATE TRIGGER IF NOT EXISTS news_article_fts_ai AFTER INSERT ON news_article BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, byline, text) VALUES (new.id, new.title, new.byline, new.text);
    END""",
    "news_article_fts_ad": f"""CREATE TRIGGER IF NOT EXISTS news_article_fts_ad AFTER DELETE ON news_article BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, byline, text)
        VALUES ('delete', old.id, old.title, old.byline, old.text);
    END""",
    # Workers update articles often (leases, timestamps); only a change to an indexed
    # column should cost an index update.
    "news_article_fts_au": f"""CREATE TRIGGER IF NOT EXISTS news_article_fts_au AFTER UPDATE OF title, byline, text
        ON news_article
        WHEN old.title IS NOT new.title OR old.byline IS NOT new.byline OR old.text IS NOT new.text BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, byline, text)
        VALUES ('delete', old.id, old.title, old.byline, old.text);
        INSERT INTO {FTS_TABLE}(rowid, title, byline, text) VALUES (new.id, new.title, new.byline, new.text);
    END""",
}


class _SQLite:
    @staticmethod
    def install(conn) -> None:
        """Create whatever is missing and rebuild the index if anything was. Idempotent: a
        later migration that rebuilds news_article on SQLite drops its triggers, and the
        post_migrate hook calls this again to put them back."""
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM sqlite_master WHERE name LIKE %s", ["news_article_fts%"])
            present = {name for (name,) in cur.fetchall()}
            missing = (FTS_TABLE not in present) or any(t not in present for t in _TRIGGERS)
            if not missing:
                return
            cur.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                "title, byline, text, content='news_article', content_rowid='id', "
                "tokenize='porter unicode61 remove_diacritics 2')"
            )
            for sql in _TRIGGERS.values():
                cur.execute(sql)
            cur.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")

    @staticmethod
    def uninstall(conn) -> None:
        with conn.cursor() as cur:
            for name in _TRIGGERS:
                cur.execute(f"DROP TRIGGER IF EXISTS {name}")
            cur.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")

    @staticmethod
    def ranked_ids(conn, parsed, filters, order, limit, offset):
        where, params = filters.sql(conn, "a")
        weights = ", ".join(str(WEIGHTS[c]) for c in _COLUMNS)
        # bm25() is lower-is-better; it is negated so both engines report higher-is-better.
        order_by = "score DESC, a.id DESC" if order == "relevance" else "a.published_at DESC, a.id DESC"
        sql = (
            f"SELECT a.id, -bm25({FTS_TABLE}, {weights}) AS score FROM {FTS_TABLE} "
            f"JOIN news_article a ON a.id = {FTS_TABLE}.rowid "
            f"WHERE {FTS_TABLE} MATCH %s AND {where} ORDER BY {order_by} LIMIT %s OFFSET %s"
        )
        with conn.cursor() as cur:
            cur.execute(sql, [to_fts5(parsed), *params, limit, offset])
            return [(pk, float(score)) for pk, score in cur.fetchall()]

    @staticmethod
    def highlights(conn, parsed, ids):
        # Separate from ranking so snippets are cut for one page of rows, not every match.
        marks = "char(2), char(3)"
        sql = (
            f"SELECT rowid, highlight({FTS_TABLE}, 0, {marks}), snippet({FTS_TABLE}, 2, {marks}, '…', 28) "
            f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid IN ({', '.join(['%s'] * len(ids))})"
        )
        with conn.cursor() as cur:
            cur.execute(sql, [to_fts5(parsed), *ids])
            return {pk: (title, snippet) for pk, title, snippet in cur.fetchall()}


# --- PostgreSQL: tsvector + GIN ------------------------------------------------------------
PG_CONFIG = "english"
PG_INDEX = "news_article_search_idx"


def _pg_vector(alias: str = "") -> str:
    """The indexed expression. Queries must spell it exactly like the index for the planner
    to use the index; the explicit regconfig makes it immutable, as an index requires."""
    p = f"{alias}." if alias else ""
    return " || ".join(
        f"setweight(to_tsvector('{PG_CONFIG}'::regconfig, coalesce({p}{col}, '')), '{weight}')"
        for col, weight in (("title", "A"), ("byline", "B"), ("text", "C"))
    )


class _Postgres:
    @staticmethod
    def install(conn) -> None:
        with conn.cursor() as cur:
            cur.execute(f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON news_article USING GIN (({_pg_vector()}))")

    @staticmethod
    def uninstall(conn) -> None:
        with conn.cursor() as cur:
            cur.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")

    @staticmethod
    def ranked_ids(conn, parsed, filters, order, limit, offset):
        where, params = filters.sql(conn, "a")
        vector = f"({_pg_vector('a')})"
        order_by = "score DESC, a.id DESC" if order == "relevance" else "a.published_at DESC, a.id DESC"
        sql = (
            f"SELECT a.id, ts_rank_cd({vector}, q, 1) AS score "
            f"FROM news_article a, websearch_to_tsquery('{PG_CONFIG}', %s) q "
            f"WHERE {vector} @@ q AND {where} ORDER BY {order_by} LIMIT %s OFFSET %s"
        )
        with conn.cursor() as cur:
            cur.execute(sql, [to_websearch(parsed), *params, limit, offset])
            return [(pk, float(score)) for pk, score in cur.fetchall()]

    @staticmethod
    def highlights(conn, parsed, ids):
        marks = f"StartSel={OPEN}, StopSel={CLOSE}"
        sql = (
            f"SELECT a.id, ts_headline('{PG_CONFIG}', a.title, q, %s), "
            f"ts_headline('{PG_CONFIG}', a.text, q, %s) "
            f"FROM news_article a, websearch_to_tsquery('{PG_CONFIG}', %s) q WHERE a.id = ANY(%s)"
        )
        options_title = f"{marks}, HighlightAll=true"
        options_text = f"{marks}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \""
        with conn.cursor() as cur:
            cur.execute(sql, [options_title, options_text, to_websearch(parsed), list(ids)])
            return {pk: (title, snippet) for pk, title, snippet in cur.fetchall()}


_ENGINES = {"sqlite": _SQLite, "postgresql": _Postgres}


def install_search_index(conn) -> None:
    engine = _ENGINES.get(conn.vendor)
    if engine is not None:
        engine.install(conn)


def uninstall_search_index(conn) -> None:
    engine = _ENGINES.get(conn.vendor)
    if engine is not None:
        engine.uninstall(conn)

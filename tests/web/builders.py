"""Stored data for page tests: sources, readable articles, stories, tags and links between
them, made with the real models."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

from newsstand.ingest.models import Source
from newsstand.news.models import Article, ArticleTag, ExtractionStatus, HeadlineChange, RelatedArticle, Story, Tag

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
_serial = count(1)
HOSTILE = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'


def source(name: str | None = None, **fields) -> Source:
    name = name or f"Outlet {next(_serial)}"
    fields.setdefault("homepage_url", "https://" + name.lower().replace(" ", "") + ".example/")
    return Source.objects.create(name=name, **fields)


def article(src: Source, title: str | None = None, *, minutes_ago: float = 0, text: str = "", now=None,
            **fields) -> Article:
    n = next(_serial)
    title = title or f"Headline number {n}"
    text = text or f"Body of article {n}. It reports on events in detail for readers."
    fields.setdefault("extraction_status", ExtractionStatus.DONE)
    fields.setdefault("url", f"https://{src.pk}.example/news/{n}")
    fields.setdefault("html", "".join(f"<p>{p}</p>" for p in text.split("\n\n")))
    return Article.objects.create(source=src, title=title, text=text,
                                  published_at=(now or NOW) - timedelta(minutes=minutes_ago), **fields)


def many(src: Source, n: int, **fields) -> list[Article]:
    return [article(src, minutes_ago=i * 7 + 1, **fields) for i in range(n)]


def story(articles: list[Article], headline: str | None = None, score: float = 0) -> Story:
    first = min(articles, key=lambda a: a.published_at)
    made = Story.objects.create(
        headline=headline or first.title, first_seen_at=first.published_at,
        last_updated_at=max(a.published_at for a in articles), article_count=len(articles),
        source_count=len({a.source_id for a in articles}), first_article=first, score=score)
    Article.objects.filter(pk__in=[a.pk for a in articles]).update(story=made)
    return made


def tag(name: str, articles: list[Article] = (), kind: str = Tag.Kind.TOPIC) -> Tag:
    made = Tag.objects.create(slug=name.lower(), name=name, kind=kind, article_count=len(articles))
    ArticleTag.objects.bulk_create([ArticleTag(article=a, tag=made, score=1.0) for a in articles])
    return made


def relate(article_: Article, others: list[Article], reason: str = "same story") -> None:
    RelatedArticle.objects.bulk_create([
        RelatedArticle(article=article_, related=o, score=1 - i / 10, reason=reason, rank=i)
        for i, o in enumerate(others)])


def retitle(article_: Article, old_titles: list[str]) -> None:
    HeadlineChange.objects.bulk_create([
        HeadlineChange(article=article_, title=t, replaced_at=NOW - timedelta(hours=len(old_titles) - i))
        for i, t in enumerate(old_titles)])

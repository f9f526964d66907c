"""Trending hashtags for the home page: tags whose articles in the last day outnumber what
their baseline (the previous week, per day) predicts. Plain ORM reads: safe on the request
path of the web process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from newsstand.news.models import ArticleTag, Tag


@dataclass(frozen=True)
class TrendingTag:
    tag: Tag
    recent: int        # articles in the last 24 hours
    baseline: float    # articles per day over the week before
    lift: float        # recent against the smoothed baseline


def trending_tags(now: datetime | None = None, *, limit: int = 10, min_recent: int = 2,
                  baseline_days: int = 7) -> list[TrendingTag]:
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)
    week_ago = day_ago - timedelta(days=baseline_days)
    # Copies of one wire story are one article, not a trend.
    links = ArticleTag.objects.filter(article__duplicate_of__isnull=True)
    recent = dict(links.filter(article__published_at__gte=day_ago, article__published_at__lte=now)
                  .values_list("tag_id").annotate(n=Count("article", distinct=True)).values_list("tag_id", "n"))
    recent = {tag_id: n for tag_id, n in recent.items() if n >= min_recent}
    if not recent:
        return []
    before = dict(links.filter(tag_id__in=list(recent), article__published_at__gte=week_ago,
                               article__published_at__lt=day_ago)
                  .values_list("tag_id").annotate(n=Count("article", distinct=True)).values_list("tag_id", "n"))
    tags = Tag.objects.in_bulk(list(recent))
    scored = []
    for tag_id, n in recent.items():
        baseline = before.get(tag_id, 0) / baseline_days
        # +1 smoothing: a brand-new tag with 5 articles rises; an everyday tag with 5 does not.
        lift = n / (baseline + 1)
        scored.append(TrendingTag(tags[tag_id], n, baseline, lift))
    scored.sort(key=lambda t: (-t.lift, -t.recent, t.tag.name))
    return scored[:limit]

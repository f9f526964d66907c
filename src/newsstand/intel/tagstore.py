"""Storing an article's hashtags: one Tag per normalized name whatever the spelling, counts
kept exact by adjusting them in the same transaction as the links."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from newsstand.intel.tags import TagCandidate, variant_keys
from newsstand.news.models import ArticleTag, Tag

KINDS = {choice.value for choice in Tag.Kind}


def resolve_tag(candidate: TagCandidate) -> Tag:
    keys = variant_keys(candidate.slug)
    existing = {t.slug: t for t in Tag.objects.filter(slug__in=keys)}
    for key in keys:  # the exact spelling first, then its plural or singular
        if key in existing:
            tag = existing[key]
            if tag.kind == Tag.Kind.TOPIC and candidate.kind in KINDS - {Tag.Kind.TOPIC}:
                Tag.objects.filter(pk=tag.pk).update(kind=candidate.kind)
            return tag
    try:
        with transaction.atomic():
            return Tag.objects.create(slug=candidate.slug[:200], name=candidate.name[:200],
                                      kind=candidate.kind if candidate.kind in KINDS else Tag.Kind.TOPIC)
    except IntegrityError:  # another worker made it a moment ago
        return Tag.objects.get(slug=candidate.slug[:200])


def store_tags(article_id: int, candidates: list[TagCandidate]) -> list[Tag]:
    with transaction.atomic():
        clear_tags(article_id)
        tags: dict[int, tuple[Tag, float]] = {}
        for candidate in candidates:
            tag = resolve_tag(candidate)
            if tag.pk not in tags:
                tags[tag.pk] = (tag, candidate.score)
        ArticleTag.objects.bulk_create([ArticleTag(article_id=article_id, tag=tag, score=score)
                                        for tag, score in tags.values()])
        Tag.objects.filter(pk__in=list(tags)).update(article_count=F("article_count") + 1)
        return [tag for tag, _ in tags.values()]


def clear_tags(article_id: int) -> None:
    old = list(ArticleTag.objects.filter(article_id=article_id).values_list("tag_id", flat=True))
    if old:
        ArticleTag.objects.filter(article_id=article_id).delete()
        Tag.objects.filter(pk__in=old, article_count__gt=0).update(article_count=F("article_count") - 1)


def recount_tags() -> None:
    """Exact counts from the links (reindex; a safety net for hand edits)."""
    from django.db.models import Count

    for tag_id, n in Tag.objects.annotate(n=Count("articletag")).values_list("pk", "n"):
        Tag.objects.filter(pk=tag_id).exclude(article_count=n).update(article_count=n)

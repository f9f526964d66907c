"""What other programs read about a page: OpenGraph and Twitter cards, JSON-LD NewsArticle.
Values are plain strings here; templates escape them (attributes) or ld_json does (script)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from newsstand.news.models import Article, Tag
from newsstand.web import images
from newsstand.web.templatetags.reader import excerpt


def article_metadata(request, article: Article, tags: Iterable[Tag]) -> dict:
    description = excerpt(article.text or "", 200)
    image = images.absolute_image(request, article.image_url)
    permalink = request.build_absolute_uri(reverse("article", args=[article.pk]))
    source = article.source
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "url": article.url,
        "mainEntityOfPage": article.url,
        "datePublished": article.published_at.isoformat(),
        "dateModified": (article.updated_at or article.published_at).isoformat(),
        "publisher": {"@type": "Organization", "name": source.name},
        "isAccessibleForFree": True,
    }
    if source.homepage_url:
        ld["publisher"]["url"] = source.homepage_url
    if article.byline:
        ld["author"] = [{"@type": "Person", "name": article.byline}]
    if description:
        ld["description"] = description
    if image:
        ld["image"] = [image]
    if article.language:
        ld["inLanguage"] = article.language
    keywords = [t.name for t in tags]
    if keywords:
        ld["keywords"] = keywords
    return {"description": description, "image": image, "permalink": permalink, "ld": ld}

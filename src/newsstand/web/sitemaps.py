"""Sitemaps for crawlers: every readable article, story, source and tag. Article pages
name the publisher's URL as canonical; the sitemap still lists them so the aggregator's
own pages (related coverage, story links) are found."""

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from newsstand.ingest.models import Source
from newsstand.news import queries
from newsstand.news.models import Story, Tag


class HomeSitemap(Sitemap):
    changefreq = "hourly"
    priority = 1.0

    def items(self):
        return ["home"]

    def location(self, item):
        return reverse(item)


class ArticleSitemap(Sitemap):
    limit = 5000
    changefreq = "weekly"

    def items(self):
        return queries.readable().only("id", "published_at", "updated_at").order_by("-published_at", "-id")

    def location(self, item):
        return reverse("article", args=[item.pk])

    def lastmod(self, item):
        return item.updated_at or item.published_at


class StorySitemap(Sitemap):
    limit = 5000
    changefreq = "hourly"

    def items(self):
        return Story.objects.filter(article_count__gt=0).only("id", "last_updated_at").order_by("-last_updated_at", "-id")

    def location(self, item):
        return reverse("story", args=[item.pk])

    def lastmod(self, item):
        return item.last_updated_at


class SourceSitemap(Sitemap):
    changefreq = "hourly"

    def items(self):
        return Source.objects.only("id").order_by("id")

    def location(self, item):
        return reverse("source", args=[item.pk])


class TagSitemap(Sitemap):
    limit = 5000
    changefreq = "daily"

    def items(self):
        return Tag.objects.filter(article_count__gt=0).only("slug").order_by("slug")

    def location(self, item):
        return reverse("tag", args=[item.slug])


SITEMAPS = {"home": HomeSitemap, "articles": ArticleSitemap, "stories": StorySitemap,
            "sources": SourceSitemap, "tags": TagSitemap}

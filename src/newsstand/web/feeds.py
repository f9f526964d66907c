"""Outgoing RSS and Atom feeds, on django.contrib.syndication. The framework sets
Last-Modified from the newest item; ConditionalGetMiddleware answers 304 from it (and
from the ETag) so feed readers that poll often cost us almost nothing.

Feed readers render <description> and Atom summaries as HTML, so our plain text is
HTML-escaped before the framework XML-escapes it: a headline or excerpt carrying <script>
reaches a reader as the text "<script>", never as markup."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from newsstand.news import queries
from newsstand.news.models import Article, Tag
from newsstand.news.search import search_articles
from newsstand.web import params
from newsstand.web.templatetags.reader import excerpt

FEED_SIZE = 30


def _with_text(qs):
    """Feed items need the text for excerpts and the tags for categories: prefetched, so a
    feed is a fixed number of queries."""
    return (qs.select_related("source").prefetch_related("tags")
            .defer("html", "feed_content_html", "summary_html", "embedding").order_by("-published_at", "-id"))


class ArticleFeed(Feed):
    description_template = None

    def item_title(self, item: Article) -> str:
        return item.title

    def item_description(self, item: Article) -> str:
        return escape(excerpt(item.text, 400))

    def item_link(self, item: Article) -> str:
        return reverse("article", args=[item.pk])

    def item_pubdate(self, item: Article):
        return item.published_at

    def item_updateddate(self, item: Article):
        return item.updated_at or item.published_at

    def item_author_name(self, item: Article) -> str | None:
        return item.byline or item.source.name

    def item_categories(self, item: Article) -> list[str]:
        return [t.name for t in item.tags.all()]


class LatestFeed(ArticleFeed):
    title = "Newsstand: latest news"
    description = "The latest articles from every source this Newsstand follows."

    def link(self):
        return reverse("home")

    def items(self):
        return _with_text(queries.front_page_articles())[:FEED_SIZE]


class SourceFeed(ArticleFeed):
    def get_object(self, request, key: str):
        source = queries.source_by_key(key)
        if source is None:
            raise Http404("No such source")
        return source

    def title(self, obj):
        return f"Newsstand: {obj.name}"

    def description(self, obj):
        return f"The latest articles from {obj.name}."

    def link(self, obj):
        return reverse("source", args=[obj.pk])

    def items(self, obj):
        return _with_text(queries.readable().filter(source=obj))[:FEED_SIZE]


class TagFeed(ArticleFeed):
    def get_object(self, request, slug: str):
        return get_object_or_404(Tag, slug=slug)

    def title(self, obj):
        return f"Newsstand: #{obj.name}"

    def description(self, obj):
        return f"The latest articles tagged #{obj.name}."

    def link(self, obj):
        return reverse("tag", args=[obj.slug])

    def items(self, obj):
        return _with_text(queries.tagged(queries.front_page_articles(), obj, FEED_SIZE))[:FEED_SIZE]


class SearchFeed(ArticleFeed):
    """A saved search as a feed: the newest matches first, as feed readers expect."""

    def get_object(self, request):
        form = params.search_form(request)
        if not form["q"]:
            raise queries.InvalidQuery("a search feed needs “q”")
        form["query_string"] = request.GET.urlencode()
        return form

    def title(self, obj):
        return f"Newsstand: search for “{obj['q']}”"

    def description(self, obj):
        return f"The newest articles matching “{obj['q']}”."

    def link(self, obj):
        return reverse("search") + "?" + obj["query_string"]

    def items(self, obj):
        page = search_articles(obj["q"], source_id=obj["source"], since=params.day_start(obj["from"]),
                               until=params.day_end(obj["to"]), order="newest", limit=FEED_SIZE)
        ids = [hit.article.pk for hit in page.hits]
        by_id = _with_text(Article.objects.filter(pk__in=ids)).in_bulk()
        return [by_id[pk] for pk in ids if pk in by_id]


def atom(feed_class):
    """The same feed as Atom 1.0."""
    return type(f"Atom{feed_class.__name__}", (feed_class,), {
        "feed_type": Atom1Feed,
        "subtitle": feed_class.description,
    })

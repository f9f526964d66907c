"""Reader pages. Views read parameters and render; what to show comes from
newsstand.news.queries and newsstand.news.search."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from newsstand.news import queries
from newsstand.news.models import Story, Tag
from newsstand.news.search import search_articles
from newsstand.web import pagecache, params
from newsstand.web.metadata import article_metadata


@require_safe
@pagecache.reader_page
@params.answers_bad_input
def home(request):
    cursor = params.text(request, "cursor") or None
    page = queries.page_after(queries.front_page_articles(), cursor)
    context = {"page": page, "first_page": cursor is None}
    if cursor is None:
        context["top"] = queries.top_stories()
        context["by_source"] = queries.source_sections(page.items)
        context["by_tag"] = queries.tag_sections()
    return render(request, "web/home.html", context)


@require_safe
@pagecache.reader_page(versioned=False)
def article(request, article_id: int):
    found = queries.article_for_page(article_id)
    if found is None:
        raise Http404("No such article")
    return render(request, "web/article.html", {
        "article": found.article, "tags": found.tags, "related": found.related, "history": found.history,
        "copies": found.copies, "original": found.original,
        "meta": article_metadata(request, found.article, found.tags),
    })


@require_safe
@pagecache.reader_page
@params.answers_bad_input
def source(request, key: str):
    found = queries.source_by_key(key)
    if found is None:
        raise Http404("No such source")
    page = queries.page_after(queries.readable().filter(source=found), params.text(request, "cursor") or None)
    return render(request, "web/source.html", {"source": found, "page": page})


@require_safe
@pagecache.reader_page
@params.answers_bad_input
def tag(request, slug: str):
    found = get_object_or_404(Tag, slug=slug)
    page = queries.page_after(queries.tagged(queries.front_page_articles(), found), params.text(request, "cursor") or None)
    return render(request, "web/tag.html", {"tag": found, "page": page})


@require_safe
@pagecache.reader_page
@params.answers_bad_input
def story(request, story_id: int):
    found = get_object_or_404(Story, pk=story_id)
    # Every outlet's article, reprints included: the story page is about who covered it.
    page = queries.page_after(queries.readable().filter(story=found), params.text(request, "cursor") or None)
    return render(request, "web/story.html", {"story": found, "page": page})


@require_safe
@params.answers_bad_input
def search(request):
    form = params.search_form(request)
    results = None
    if form["q"]:
        results = search_articles(
            form["q"], source_id=form["source"], since=params.day_start(form["from"]),
            until=params.day_end(form["to"]), cursor=params.text(request, "cursor") or None,
            order=form["sort"],
        )
    return render(request, "web/search.html", {
        "form": form, "results": results, "sources": queries.sources_for_filter(),
    })


@require_safe
def robots_txt(request):
    lines = [
        "User-agent: *",
        # Search results are endless and duplicate the articles; crawlers get the sitemap.
        f"Disallow: {reverse('search')}",
        "Disallow: /admin/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from newsstand.news.models import Article


def home(request):
    page = Paginator(Article.objects.latest().defer("html", "text", "feed_content_html"), 30).get_page(
        request.GET.get("page"))
    return render(request, "web/home.html", {"page": page})


def article(request, article_id: int):
    item = get_object_or_404(Article.objects.visible().select_related("source"), pk=article_id)
    return render(request, "web/article.html", {"article": item})


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")

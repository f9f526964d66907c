"""The latest-articles list and the article page, rendered from real stored articles."""

import pytest
from datetime import timedelta

from django.utils import timezone

from newsstand.ingest.models import Source
from newsstand.news.models import Article, ExtractionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored():
    source = Source.objects.create(name="Wikinews", attribution="From Wikinews, under CC BY 2.5",
                                   license_url="https://creativecommons.org/licenses/by/2.5/")
    done = Article.objects.create(source=source, url="https://en.wikinews.org/wiki/A", title="Bridge <b>reopens</b>",
                                  published_at=timezone.now() - timedelta(minutes=29), html="<p>Full text.</p>", text="Full text.",
                                  extraction_status=ExtractionStatus.DONE)
    pending = Article.objects.create(source=source, url="https://en.wikinews.org/wiki/B", title="Not yet read",
                                     published_at=timezone.now())
    return done, pending


def test_home_lists_readable_articles(client, stored):
    done, pending = stored
    html = client.get("/").content.decode()
    assert "Bridge &lt;b&gt;reopens&lt;/b&gt;" in html  # a title's markup stays inert
    assert f"/articles/{done.pk}" in html and "Not yet read" not in html


def test_article_page_shows_text_source_and_attribution(client, stored):
    done, pending = stored
    html = client.get(f"/articles/{done.pk}").content.decode()
    assert "<p>Full text.</p>" in html and "From Wikinews, under CC BY 2.5" in html
    assert 'rel="canonical" href="https://en.wikinews.org/wiki/A"' in html
    assert "29\xa0minutes ago" in html
    assert client.get(f"/articles/{pending.pk}").status_code == 404
    assert client.get("/articles/999999").status_code == 404

"""The reader pages' response cache (newsstand.web.pagecache): a cached page costs no query,
new articles still show at once, and nothing personal or erroneous is ever stored."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test import RequestFactory

from newsstand.news.models import Article, ExtractionStatus
from newsstand.news.queries import encode_cursor
from newsstand.web import metrics, pagecache
from tests.web import builders as b

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    paper, wire = b.source("Daily Example", favicon_url="https://daily.example/f.ico"), b.source("Wire Service")
    items = [b.article(paper if i % 2 else wire, f"Harbour story {i}", minutes_ago=10 + i,
                       image_url="https://daily.example/a.jpg") for i in range(6)]
    story = b.story(items[:3])
    tag = b.tag("Harbours", items)
    b.relate(items[0], items[1:3])
    return {"paper": paper, "items": items, "story": story, "tag": tag}


@pytest.fixture
def slow_version_checks(monkeypatch):
    """The site version is re-read from the database at most once a second; a slow test run
    must not turn a cached answer into a miss."""
    monkeypatch.setattr(pagecache, "VERSION_CHECK_SECONDS", 3600)


def counts() -> dict[str, int]:
    _, _, events = metrics.registry.snapshot()
    return {dict(labels)["result"]: n for (name, labels), n in events.items()
            if name == "newsstand_page_cache_total"}


def delta(before: dict[str, int]) -> dict[str, int]:
    after = counts()
    return {k: after.get(k, 0) - before.get(k, 0) for k in ("hit", "miss", "bypass")
            if after.get(k, 0) != before.get(k, 0)}


@pytest.mark.parametrize("which", ["home", "article", "source", "tag", "story", "older"])
def test_a_cached_page_costs_no_query(client, world, which, django_assert_num_queries, slow_version_checks):
    items = world["items"]
    url = {"home": "/", "article": f"/articles/{items[0].pk}", "source": f"/sources/{world['paper'].pk}",
           "tag": f"/tags/{world['tag'].slug}", "story": f"/stories/{world['story'].pk}",
           "older": "/?cursor=" + encode_cursor(items[1].published_at, items[1].pk)}[which]
    first = client.get(url)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        second = client.get(url)
    assert second.status_code == 200 and second.content == first.content
    assert second["ETag"] == first["ETag"] and second["Last-Modified"] == first["Last-Modified"]
    assert "Cookie" in second["Vary"]
    # Revalidation from the cache too: 304, still no query.
    with django_assert_num_queries(0):
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
        assert client.head(url).status_code == 200


def test_each_url_is_its_own_entry(client, world, slow_version_checks):
    client.get("/")
    before = counts()
    client.get("/?utm_source=x")  # another query string ("load more" keeps it): another entry
    client.get("/", HTTP_HOST="localhost")  # another host (absolute URLs in metadata): another entry
    client.get("/")
    assert delta(before) == {"miss": 2, "hit": 1}


def test_a_new_article_shows_on_the_lists_at_once(client, world, slow_version_checks):
    paper = world["paper"]
    assert "Breaking harbour news" not in client.get("/").content.decode()
    assert "Breaking harbour news" not in client.get(f"/sources/{paper.pk}").content.decode()
    b.article(paper, "Breaking harbour news", minutes_ago=1)  # saved in this process
    assert "Breaking harbour news" in client.get("/").content.decode()
    assert "Breaking harbour news" in client.get(f"/sources/{paper.pk}").content.decode()


def test_an_article_stored_by_another_process_shows_within_a_version_check(client, world, monkeypatch):
    """A worker stores articles in another process: no signal reaches this one, the database
    stamp (newest id, newest extraction) does, at the next version check."""
    monkeypatch.setattr(pagecache, "VERSION_CHECK_SECONDS", 3600)
    paper = world["paper"]
    client.get("/")
    Article.objects.bulk_create([Article(  # bulk_create sends no post_save signal
        source=paper, title="Stored by a worker", url="https://daily.example/w", text="Body.", html="<p>Body.</p>",
        published_at=b.NOW, extraction_status=ExtractionStatus.DONE)])
    assert "Stored by a worker" not in client.get("/").content.decode()  # the stamp is a second old
    monkeypatch.setattr(pagecache, "VERSION_CHECK_SECONDS", 0)
    assert "Stored by a worker" in client.get("/").content.decode()


def test_an_article_made_readable_by_another_process_shows(client, world, monkeypatch):
    monkeypatch.setattr(pagecache, "VERSION_CHECK_SECONDS", 0)
    pending = b.article(world["paper"], "Waiting for its page", extraction_status=ExtractionStatus.PENDING)
    assert "Waiting for its page" not in client.get("/").content.decode()
    # What newsstand.ingest.pages.save_extraction stores, as a worker's plain UPDATE (no signal here).
    Article.objects.filter(pk=pending.pk).update(extraction_status=ExtractionStatus.DONE, extracted_at=b.NOW)
    assert "Waiting for its page" in client.get("/").content.decode()


def test_logged_in_readers_are_never_served_or_stored(client, world, django_assert_num_queries, slow_version_checks):
    client.get("/")  # an anonymous copy is cached
    user = get_user_model().objects.create_user("reader", password="x" * 12)
    client.force_login(user)
    before = counts()
    for _ in range(2):
        assert client.get("/").status_code == 200
    assert delta(before) == {"bypass": 2}
    client.logout()
    anonymous = client.__class__()
    before = counts()
    with django_assert_num_queries(0):
        anonymous.get("/")
    assert delta(before) == {"hit": 1}  # the anonymous copy, not anything the reader saw


def test_any_session_cookie_bypasses(client, world):
    client.cookies["sessionid"] = "whatever"
    before = counts()
    client.get("/")
    client.get("/")
    assert delta(before) == {"bypass": 2}


def test_other_methods_are_refused_and_not_cached(client, world):
    before = counts()
    assert client.post("/").status_code == 405
    assert client.put(f"/articles/{world['items'][0].pk}").status_code == 405
    assert delta(before) == {}


@pytest.mark.parametrize("url, status", [
    ("/?cursor=not-a-cursor", 400), ("/?cursor=" + "A" * 400, 400), ("/sources/{paper}?cursor=%00", 400),
    ("/tags/harbours?cursor=bad", 400), ("/articles/999999", 404), ("/tags/nope", 404),
])
def test_errors_are_answered_and_never_stored(client, world, url, status, slow_version_checks):
    url = url.format(paper=world["paper"].pk)
    before = counts()
    assert client.get(url).status_code == status
    assert client.get(url).status_code == status
    assert delta(before) == {"miss": 2}


def test_off_when_the_setting_is_zero(client, world, settings):
    settings.NEWSSTAND_PAGE_CACHE_SECONDS = 0
    before = counts()
    client.get("/")
    client.get("/")
    assert delta(before) == {"bypass": 2}


# --- what a view's response may carry ---------------------------------------------------------

def _run_twice(view) -> int:
    calls = []

    @pagecache.reader_page
    def wrapped(request):
        calls.append(1)
        return view(request)

    factory = RequestFactory()
    for _ in range(2):
        request = factory.get("/anything")
        request.session = SessionStore()
        assert wrapped(request).status_code == 200
    return len(calls)


def test_responses_that_belong_to_one_reader_are_not_stored():
    def with_cookie(request):
        response = HttpResponse("hello")
        response.set_cookie("seen", "1")
        return response

    def with_csrf_token(request):
        return HttpResponse(f"<input name=csrfmiddlewaretoken value={get_token(request)}>")

    def reading_the_session(request):
        return HttpResponse(f"hello {request.session.get('name', 'you')}")

    def private(request):
        return HttpResponse("hello", headers={"Cache-Control": "private"})

    def plain(request):
        return HttpResponse("hello")

    for view in (with_cookie, with_csrf_token, reading_the_session, private):
        pagecache.clear()
        assert _run_twice(view) == 2, view.__name__
    pagecache.clear()
    assert _run_twice(plain) == 1


def test_templates_emit_no_csrf_token():
    """Cached pages are shared between readers: a CSRF token in one would be everyone's."""
    from pathlib import Path

    import newsstand.web

    for template in Path(newsstand.web.__file__).parent.joinpath("templates").rglob("*.html"):
        assert "csrf_token" not in template.read_text(), template


def test_concurrent_misses_render_once():
    """When an entry expires under load, the process renders the page once; the other threads
    wait for that copy instead of rendering it too."""
    import threading
    import time

    calls = []

    @pagecache.reader_page(versioned=False)
    def slow(request):
        calls.append(1)
        time.sleep(0.2)
        return HttpResponse("the page")

    factory, bodies = RequestFactory(), []

    def ask():
        request = factory.get("/slow")
        request.session = SessionStore()
        bodies.append(slow(request).content)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and bodies == [b"the page"] * 6


def test_templates_are_compiled_once_per_process(settings):
    """The cached template loader (Django's default when no loaders are configured) parses
    each template once, not on every render."""
    from django.template import engines

    loaders = engines["django"].engine.template_loaders
    assert [type(loader).__module__ for loader in loaders] == ["django.template.loaders.cached"]

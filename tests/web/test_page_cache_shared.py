"""The page cache as the web processes use it: answered by PageCacheMiddleware with every
header the full stack adds, gzip for clients that take it, revalidation, and entries shared
with other processes on the machine (as gunicorn workers share them)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.db import connection

from newsstand.web import metrics, pagecache
from tests.web import builders as b

PLAIN_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Vary", "Content-Length", "X-Frame-Options",
                 "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy")


@pytest.fixture
def world(db):
    paper = b.source("Daily Example", favicon_url="https://daily.example/f.ico")
    items = [b.article(paper, f"Harbour story {i}", minutes_ago=10 + i, image_url="https://daily.example/a.jpg")
             for i in range(4)]
    b.relate(items[0], items[1:3])
    b.tag("Harbours", items)
    return {"paper": paper, "items": items}


@pytest.fixture
def slow_version_checks(monkeypatch):
    monkeypatch.setattr(pagecache, "VERSION_CHECK_SECONDS", 3600)


def cache_counts() -> dict[str, int]:
    _, _, events = metrics.registry.snapshot()
    return {dict(labels)["result"]: n for (name, labels), n in events.items() if name == "newsstand_page_cache_total"}


@pytest.mark.parametrize("which", ["home", "article"])
def test_a_hit_has_the_headers_of_the_rendered_answer(client, world, which, slow_version_checks):
    url = "/" if which == "home" else f"/articles/{world['items'][0].pk}"
    before = cache_counts()
    first, second = client.get(url), client.get(url)
    after = cache_counts()
    assert after.get("miss", 0) - before.get("miss", 0) == 1 and after.get("hit", 0) - before.get("hit", 0) == 1
    assert second.content == first.content
    for name in PLAIN_HEADERS:
        assert second[name] == first[name], name
    assert {v.strip() for v in second["Vary"].split(",")} == {"Cookie", "Accept-Encoding"}
    assert "Content-Encoding" not in second and int(second["Content-Length"]) == len(second.content)
    assert not second.cookies


def test_a_hit_is_counted_under_its_view(client, world):
    url = f"/articles/{world['items'][0].pk}"
    client.get(url)
    requests, _, _ = metrics.registry.snapshot()
    before = requests.get(("article", "GET", "2xx"), 0)
    client.get(url)
    client.get(url)
    requests, _, _ = metrics.registry.snapshot()
    assert requests.get(("article", "GET", "2xx"), 0) - before == 2


def test_gzip_for_clients_that_take_it(client, world):
    url = f"/articles/{world['items'][0].pk}"
    plain = client.get(url)
    for _ in range(2):  # stored, then a hit: the same
        packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert packed.status_code == 200 and packed["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.content) == plain.content
        assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content)
        assert packed["ETag"] == "W/" + plain["ETag"]  # another representation of the same page
        assert "Accept-Encoding" in packed["Vary"]
    # Either validator revalidates either representation (weak comparison, RFC 9110).
    for etag in (plain["ETag"], packed["ETag"]):
        for encoding in ("gzip", ""):
            answer = client.get(url, HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_ENCODING=encoding)
            assert answer.status_code == 304 and answer.content == b""
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=plain["Last-Modified"]).status_code == 304


def test_conditional_get_on_the_first_answer(client, world):
    """A revalidation that finds the entry gone is rendered, answered 304 and not stored."""
    url = f"/articles/{world['items'][0].pk}"
    etag = client.get(url)["ETag"]
    pagecache.clear()
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    before = cache_counts()
    assert client.get(url).status_code == 200
    assert cache_counts().get("miss", 0) - before.get("miss", 0) == 1


def test_an_article_page_reads_three_queries(client, world, settings, django_assert_num_queries):
    """Neither retitled nor reprinted (most articles): the article with its source and story,
    its tags, its related articles."""
    settings.NEWSSTAND_PAGE_CACHE_SECONDS = 0
    url = f"/articles/{world['items'][0].pk}"
    client.get(url)
    with django_assert_num_queries(3):
        assert client.get(url).status_code == 200


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def _render_in_another_process(url: str, settings) -> dict:
    script = textwrap.dedent(f"""
        import json, sys
        import django
        django.setup()
        from django.conf import settings
        from django.test import Client
        settings.STATIC_ROOT = {str(settings.STATIC_ROOT)!r}  # the manifest this test run built
        from newsstand.web import metrics
        response = Client().get({url!r})
        events = metrics.registry.snapshot()[2]
        print(json.dumps({{"status": response.status_code, "body": response.content.decode(),
                          "counts": {{dict(k[1])["result"]: n for k, n in events.items()}}}}))
    """)
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="newsstand.settings", NEWSSTAND_DATA_DIR=str(settings.DATA_DIR),
               NEWSSTAND_DATABASE_URL=_database_url(), NEWSSTAND_ALLOWED_HOSTS="testserver",
               NEWSSTAND_LOG_LEVEL="WARNING")
    env.pop("NEWSSTAND_PAGE_CACHE_SECONDS", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert there["status"] == 200 and there["counts"] == {"miss": 1}
    assert "Shared story 0" in there["body"]
    return there


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("which", ["home", "article"])
def test_a_page_another_process_rendered_is_served_here(client, settings, monkeypatch, which,
                                                         django_assert_num_queries):
    """Another process (as another gunicorn worker would) renders the page into the cache in
    the data dir; this one then answers from it without a query."""
    paper = b.source("Daily Example")
    items = [b.article(paper, f"Shared story {i}", minutes_ago=i) for i in range(3)]
    url = "/" if which == "home" else f"/articles/{items[0].pk}"
    # The rows above were saved here, which marks this process's own keys; a fresh process
    # (any other worker) has made no change.
    monkeypatch.setattr(pagecache, "_generation", 0)
    there = _render_in_another_process(url, settings)
    before = cache_counts()
    if which == "home":
        pagecache.site_version()  # this process's stamp, read before counting queries
    with django_assert_num_queries(0):
        here = client.get(url)
    assert here.status_code == 200 and here.content.decode() == there["body"]
    assert cache_counts().get("hit", 0) - before.get("hit", 0) == 1


@pytest.mark.django_db(transaction=True)
def test_a_process_with_its_own_changes_does_not_take_another_process_copy(client, settings):
    """This process saved rows (as an admin edit in one worker would): it must show them at
    once, so it renders its own copy rather than one another process made before."""
    paper = b.source("Daily Example")
    items = [b.article(paper, f"Shared story {i}", minutes_ago=i) for i in range(3)]
    assert pagecache._generation > 0  # the saves above were seen here
    url = f"/articles/{items[0].pk}"
    _render_in_another_process(url, settings)
    before = cache_counts()
    assert client.get(url).status_code == 200
    assert cache_counts().get("miss", 0) - before.get("miss", 0) == 1

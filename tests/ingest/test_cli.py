"""The `newsstand` command line as users type it: feeds add/list/remove/import/export, fetch."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from newsstand.ingest.models import Feed
from newsstand.news.models import Article
from tests.ingest.builders import article_page, paragraphs, rss, rss_item

# transaction=True: `fetch` works in threads, whose connections only see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def site(local_server):
    """A publisher's home page that names its feed only in <link rel=alternate>."""
    local_server.route("/news/one", article_page("One", paragraphs("one")), content_type="text/html")
    local_server.route("/data/main.rss", rss([rss_item(local_server.url("/news/one"), "One")], title="Daily Bugle"),
                       content_type="application/rss+xml")
    local_server.route("/", '<html><head><link rel="alternate" type="application/rss+xml" href="/data/main.rss">'
                            "</head><body>Welcome</body></html>", content_type="text/html")
    return local_server


def test_add_discovers_the_feed_of_a_site(site):
    out = run("feeds", "add", site.url("/"))
    feed = Feed.objects.get()
    assert feed.url == site.url("/data/main.rss") and feed.source.name == "Daily Bugle"
    assert "Added" in out


def test_add_with_source_name_and_duplicate_is_refused(site):
    run("feeds", "add", site.url("/data/main.rss"), "--source", "Bugle")
    assert Feed.objects.get().source.name == "Bugle"
    with pytest.raises(CommandError, match="Already subscribed"):
        run("feeds", "add", site.url("/"))


def test_add_without_any_feed_says_so(local_server):
    local_server.route("/", "<html><body>No feeds here</body></html>", content_type="text/html")
    with pytest.raises(CommandError, match="No feed found"):
        run("feeds", "add", local_server.url("/"))


def test_list_shows_health_in_plain_words(site):
    run("feeds", "add", site.url("/"))
    assert "never polled" in run("feeds", "list")
    site.route("/data/main.rss", "oops", status=500)
    with pytest.raises(CommandError, match="Nothing could be processed"):
        run("fetch", "--all", "--no-progress")
    listing = run("feeds", "list")
    assert "FAILING" in listing and "HTTP 500" in listing and "1 failure(s) in a row" in listing


def test_fetch_processes_everything_and_reports(site):
    run("feeds", "add", site.url("/"))
    out = run("fetch", "--no-progress")
    assert "1 updated" in out and "1 done" in out
    assert Article.objects.get().text.startswith("Paragraph 1 about one")
    assert "none due" in run("fetch", "--no-progress")  # nothing due: a quiet success


def test_fetch_finishes_the_run_when_a_pool_process_dies(site, monkeypatch, tmp_path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from newsstand.ingest import batch
    from tests.ingest.dying import read_feed_after_dying_once

    monkeypatch.setenv("NEWSSTAND_TEST_DIE_ONCE", str(tmp_path / "died"))
    monkeypatch.setenv("NEWSSTAND_TEST_PARENT", str(os.getpid()))
    monkeypatch.setattr(batch, "read_feed", read_feed_after_dying_once)
    monkeypatch.setattr(batch, "extraction_pool", lambda: ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")))
    run("feeds", "add", site.url("/"))
    out = run("fetch", "--no-progress")
    assert (tmp_path / "died").exists()  # the pool did break
    assert "1 updated" in out and "1 done" in out and "crashed" not in out
    assert Article.objects.get().text.startswith("Paragraph 1 about one")


def test_remove_by_id_or_url(site):
    run("feeds", "add", site.url("/"))
    feed = Feed.objects.get()
    run("feeds", "remove", str(feed.pk))
    assert not Feed.objects.exists()
    with pytest.raises(CommandError, match="No feed"):
        run("feeds", "remove", "https://nowhere.example/feed")


def test_opml_export_then_import_round_trips(site, tmp_path):
    run("feeds", "add", site.url("/"), "--source", "Bugle")
    opml = tmp_path / "subs.opml"
    run("feeds", "export", str(opml))
    Feed.objects.all().delete()
    out = run("feeds", "import", str(opml))
    assert "Imported 1 new feed" in out
    assert Feed.objects.get().source.name == "Bugle"
    assert "Imported 0 new feed" in run("feeds", "import", str(opml))


def test_import_of_a_broken_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline")
    with pytest.raises(CommandError, match="not a usable OPML file"):
        run("feeds", "import", str(bad))
    with pytest.raises(CommandError, match="Cannot read"):
        run("feeds", "import", str(tmp_path / "missing.opml"))


def test_the_newsstand_command_reaches_every_django_command():
    result = subprocess.run([sys.executable, "-m", "newsstand.cli", "help"], capture_output=True, text=True,
                            env=dict(os.environ), timeout=60)
    for name in ("migrate", "createsuperuser", "feeds", "fetch", "worker", "serve", "run", "scheduler"):
        assert name in result.stdout

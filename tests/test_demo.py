"""The bundled demo goes through the real pipeline: a local publisher serves the Wikinews
corpus as RSS, Atom and JSON Feed; `fetch` polls, reads every page and stores clean text."""

import os
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from newsstand.demo.corpus import load_corpus
from newsstand.demo.server import start_demo_server
from newsstand.demo.setup import install_demo_feeds
from newsstand.ingest.models import Feed
from newsstand.news.models import Article, ExtractionStatus
from tests.ingest.test_workers import database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_publisher():
    server = start_demo_server("127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_demo_corpus_is_ingested_whole_and_credited(demo_publisher, client):
    feeds = install_demo_feeds(demo_publisher)
    assert {f.url.rsplit(".", 1)[-1] for f in feeds} == {"rss", "atom", "json"}
    call_command("fetch", "--all", "--no-progress")
    corpus = load_corpus()
    assert Article.objects.count() == len(corpus)
    assert Article.objects.filter(extraction_status=ExtractionStatus.DONE).count() == len(corpus)
    assert set(Feed.objects.values_list("format", flat=True)) == {"rss20", "atom10", "json11"}
    sample = corpus[len(corpus) // 2]
    article = Article.objects.get(url=sample.original_url)  # the page's canonical link: Wikinews itself
    assert sample.paragraphs[0][:60] in article.text
    assert "Share on social media" not in article.text and "Privacy policy" not in article.text
    page = client.get(f"/articles/{article.pk}").content.decode()
    assert "From Wikinews" in page and sample.original_url in page and "creativecommons.org" in page

    # Story intelligence is queued for the worker, which runs it like any other task.
    intel = DBTaskResult.objects.filter(task_path__endswith="intel_articles_task")
    assert sum(len(t.args_kwargs["args"][0]) for t in intel) == len(corpus)
    env = dict(os.environ, NEWSSTAND_DATABASE_URL=database_url(), NEWSSTAND_LOG_LEVEL="WARNING")
    worker = subprocess.run([sys.executable, "-m", "newsstand.cli", "worker", "--batch", "--interval", "0"],
                            env=env, capture_output=True, text=True, timeout=600)
    assert worker.returncode == 0, worker.stdout + worker.stderr
    assert not intel.exclude(status="SUCCESSFUL").exists()
    assert not Article.objects.filter(embedding__isnull=True).exists()
    assert not Article.objects.filter(story__isnull=True).exists()

    call_command("fetch", "--all", "--no-progress")  # again: every feed answers 304
    assert Article.objects.count() == len(corpus)
    assert set(Feed.objects.values_list("last_status", flat=True)) == {304}


def test_corpus_paragraphs_carry_no_scraped_dateline():
    corpus = load_corpus()
    assert len(corpus) == 293
    assert all(a.paragraphs and a.title for a in corpus)
    dateline = re.compile(r"^\w+day, \w+ \d{1,2}, \d{4}")
    assert not [a.title for a in corpus if dateline.match(a.paragraphs[0])]

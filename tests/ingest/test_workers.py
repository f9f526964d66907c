"""Background work through the real task queue and real `newsstand worker` processes:
tasks are idempotent, several workers share the queue safely, and a worker killed mid-task
leaves nothing half-written and loses no work."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsstand.ingest.scheduler import enqueue_due_work
from newsstand.ingest.subscribe import create_feed
from newsstand.ingest.tasks import poll_feed_task
from newsstand.news.models import Article, ArticleLink, ExtractionStatus
from tests.ingest.builders import article_page, paragraphs, rss, rss_item
from tests.localserver import Response

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def worker(*args: str) -> subprocess.Popen:
    env = dict(os.environ, NEWSSTAND_DATABASE_URL=database_url(), NEWSSTAND_ALLOWED_FETCH_HOSTS="127.0.0.1",
               NEWSSTAND_DOMAIN_RATE="0", NEWSSTAND_DOMAIN_CONCURRENCY="16", NEWSSTAND_LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, "-m", "newsstand.cli", "worker", "--interval", "0", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def publish(server, feeds: int, items: int) -> list:
    created = []
    for f in range(feeds):
        entries = []
        for i in range(items):
            path = f"/f{f}/story{i}"
            server.route(path, article_page(f"Story {f}-{i}", paragraphs(f"topic {f} {i}")), content_type="text/html")
            entries.append(rss_item(server.url(path), f"Story {f}-{i}", guid=f"{f}-{i}"))
        server.route(f"/feed{f}.xml", rss(entries), content_type="application/rss+xml")
        created.append(create_feed(server.url(f"/feed{f}.xml"), f"Outlet {f}"))
    return created


def assert_stored_once(expected: int) -> None:
    assert Article.objects.count() == expected
    assert Article.objects.filter(extraction_status=ExtractionStatus.DONE).count() == expected
    assert ArticleLink.objects.values("url_key").distinct().count() == ArticleLink.objects.count()


def test_tasks_run_twice_store_everything_once(local_server):
    feeds = publish(local_server, feeds=3, items=4)
    for feed in feeds:  # every poll queued twice, as a double-clicking admin or two schedulers would
        poll_feed_task.enqueue(feed.pk)
        poll_feed_task.enqueue(feed.pk)
    proc = worker("--batch")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert_stored_once(12)
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()


@pytest.mark.skipif(os.environ.get("NEWSSTAND_DATABASE_URL", "").startswith("sqlite") or
                    not os.environ.get("NEWSSTAND_DATABASE_URL"),
                    reason="several workers share a queue on PostgreSQL (SQLite runs one worker)")
def test_two_worker_processes_share_the_queue(local_server):
    feeds = publish(local_server, feeds=16, items=5)
    for feed in feeds:
        poll_feed_task.enqueue(feed.pk)
    workers = [worker("--batch"), worker("--batch")]
    for proc in workers:
        output, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, output
    enqueue_due_work()  # nothing lost: no feed due, no page pending
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert_stored_once(80)
    assert DBTaskResult.objects.values("worker_ids").distinct().count() >= 2


def test_worker_killed_mid_task_loses_nothing_and_duplicates_nothing(local_server):
    feed, = publish(local_server, feeds=1, items=3)
    stalled = "/f0/story1"
    body = article_page("Story 0-1", paragraphs("topic 0 1")).encode()

    def slow(_request):
        time.sleep(30)
        return Response(200, body, {"Content-Type": "text/html"})

    local_server.handle(stalled, slow)
    poll_feed_task.enqueue(feed.pk)
    proc = worker()
    deadline = time.monotonic() + 60
    while not local_server.hits(stalled) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert local_server.hits(stalled), "the worker never reached the slow page"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    stuck = Article.objects.get(guid="0-1")
    assert stuck.extraction_status == ExtractionStatus.PENDING and stuck.text == ""  # nothing half-written

    local_server.route(stalled, body, content_type="text/html")
    Article.objects.filter(pk=stuck.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))  # lease ran out
    enqueue_due_work(now=timezone.now() + timedelta(minutes=16))  # the scheduler finds the lost page job
    proc = worker("--batch")
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert_stored_once(3)

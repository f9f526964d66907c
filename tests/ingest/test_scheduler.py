"""The scheduler turns the database's schedule into queued tasks, never twice for one feed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsstand.ingest.models import Feed, Source
from newsstand.ingest.scheduler import claim_due_feeds, enqueue_due_work
from newsstand.news.models import Article

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def feeds():
    source = Source.objects.create(name="S")
    now = timezone.now()
    return {
        "due": Feed.objects.create(url="https://a.example/feed", source=source, next_poll_at=now - timedelta(minutes=1)),
        "later": Feed.objects.create(url="https://b.example/feed", source=source, next_poll_at=now + timedelta(hours=1)),
        "off": Feed.objects.create(url="https://c.example/feed", source=source, enabled=False,
                                   next_poll_at=now - timedelta(days=1)),
        "waiting": Feed.objects.create(url="https://d.example/feed", source=source, last_status=429,
                                       consecutive_errors=1, next_poll_at=now + timedelta(hours=2)),
    }


def test_due_feeds_are_queued_once(feeds):
    assert enqueue_due_work() == (1, 0)
    assert enqueue_due_work() == (0, 0)  # a second scheduler, a moment later, finds nothing
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["args"] == [feeds["due"].pk]


def test_fetch_all_takes_every_enabled_feed_but_the_one_asked_to_wait(feeds):
    claimed = set(claim_due_feeds(timezone.now(), every_enabled=True))
    assert claimed == {feeds["due"].pk, feeds["later"].pk}


def test_lost_page_jobs_are_requeued(feeds):
    now = timezone.now()
    article = Article.objects.create(source=feeds["due"].source, url="https://a.example/1", title="t",
                                     published_at=now, queued_at=now - timedelta(hours=1))
    fresh = Article.objects.create(source=feeds["due"].source, url="https://a.example/2", title="u",
                                   published_at=now, queued_at=now)
    assert enqueue_due_work(now) == (1, 1)
    page_task = DBTaskResult.objects.get(task_path__endswith="process_articles_task")
    assert page_task.args_kwargs["args"] == [[article.pk]]
    assert fresh.pk not in page_task.args_kwargs["args"][0]
    assert enqueue_due_work(now) == (0, 0)

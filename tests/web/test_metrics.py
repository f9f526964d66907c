"""/metrics: the Prometheus text format, request counts and latencies from the middleware, and
ingest and queue figures read from the real database at scrape time."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from newsstand.ingest.models import Feed, Source
from newsstand.ingest.tasks import poll_feed_task
from newsstand.news.models import Article, ExtractionStatus
from newsstand.web import metrics

pytestmark = pytest.mark.django_db

LINE = re.compile(
    r'^(?:# (?:HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*'
    r'|[a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_]\w*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? '
    r'(?:[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|\+Inf|-Inf|NaN))$'
)
SAMPLE = re.compile(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
WORKER = str(os.getpid())


def scrape(client, **headers) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.content.decode()
    assert text.endswith("\n")
    samples = {}
    for line in text.splitlines():
        assert LINE.match(line), f"not exposition format: {line!r}"
        if line.startswith("#"):
            continue
        name, labels, value = SAMPLE.match(line).groups()
        key = (name, frozenset(LABEL.findall(labels or "")))
        assert key not in samples, f"duplicate series {line!r}"
        samples[key] = float(value)
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_counts_requests_by_view_and_status_class(client):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/definitely/not/a/page")
    client.get("/api/articles?limit=0")
    after = scrape(client)
    total = "newsstand_http_requests_total"
    assert value(after, total, view="healthz", method="GET", status="2xx", worker=WORKER) - \
        value(before, total, view="healthz", method="GET", status="2xx", worker=WORKER) == 2
    assert value(after, total, view="unresolved", method="GET", status="4xx", worker=WORKER) - \
        value(before, total, view="unresolved", method="GET", status="4xx", worker=WORKER) == 1
    assert value(after, total, view="api-articles", method="GET", status="4xx", worker=WORKER) - \
        value(before, total, view="api-articles", method="GET", status="4xx", worker=WORKER) == 1
    # The scrape itself is counted too (the first one, by the second).
    assert value(after, total, view="metrics", method="GET", status="2xx", worker=WORKER) >= 1


def test_latency_histogram_is_cumulative(client):
    client.get("/healthz")
    samples = scrape(client)
    name = "newsstand_http_request_duration_seconds"
    buckets = sorted(
        ((float("inf") if dict(labels)["le"] == "+Inf" else float(dict(labels)["le"])), v)
        for (n, labels), v in samples.items()
        if n == name + "_bucket" and dict(labels)["view"] == "healthz"
    )
    assert len(buckets) == len(metrics.BUCKETS) + 1 and buckets[-1][0] == float("inf")
    counts = [v for _, v in buckets]
    assert counts == sorted(counts) and counts[-1] >= 1
    assert counts[-1] == value(samples, name + "_count", view="healthz", worker=WORKER)
    assert value(samples, name + "_sum", view="healthz", worker=WORKER) > 0


def test_ingest_figures_from_the_database(client):
    source = Source.objects.create(name="Daily Planet")
    now = timezone.now()
    for i, status in enumerate([ExtractionStatus.DONE] * 3 + [ExtractionStatus.PENDING, ExtractionStatus.FAILED]):
        Article.objects.create(source=source, url=f"https://p.example/{i}", title="t", published_at=now,
                               extraction_status=status)
    Feed.objects.create(url="https://p.example/ok.rss", source=source, last_success_at=now)
    Feed.objects.create(url="https://p.example/new.rss", source=source)
    Feed.objects.create(url="https://p.example/bad.rss", source=source, consecutive_errors=3, last_success_at=now)
    Feed.objects.create(url="https://p.example/off.rss", source=source, enabled=False, consecutive_errors=9)
    assert sorted(f.health for f in Feed.objects.all()) == ["disabled", "failing", "new", "ok"]
    samples = scrape(client)
    assert value(samples, "newsstand_database_up") == 1
    assert value(samples, "newsstand_articles", extraction_status="done") == 3
    assert value(samples, "newsstand_articles", extraction_status="pending") == 1
    assert value(samples, "newsstand_articles", extraction_status="failed") == 1
    assert ("newsstand_articles", frozenset({("extraction_status", "feed")})) in samples  # zero, but present
    for health in ("ok", "new", "failing", "disabled"):
        assert value(samples, "newsstand_feeds", health=health) == 1
    last_seen = value(samples, "newsstand_article_last_seen_timestamp_seconds")
    assert abs(last_seen - max(a.first_seen_at for a in Article.objects.all()).timestamp()) < 1
    assert abs(last_seen - (now - timedelta(seconds=0)).timestamp()) < 60


def test_queue_depth(client, settings):
    feed = Feed.objects.create(url="https://p.example/q.rss", source=Source.objects.create(name="Q"))
    before = value(scrape(client), "newsstand_tasks", queue="default", status="READY")
    for _ in range(3):
        poll_feed_task.enqueue(feed.pk)
    samples = scrape(client)
    assert value(samples, "newsstand_tasks", queue="default", status="READY") - before == 3
    assert ("newsstand_tasks", frozenset({("queue", "default"), ("status", "FAILED")})) in samples


def test_image_proxy_events_are_counted(client):
    client.get("/img/?url=http://example.com/a.jpg")
    samples = scrape(client)
    assert value(samples, "newsstand_image_proxy_total", result="error", status="403", worker=WORKER) >= 1


def test_label_values_are_escaped():
    assert metrics.escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    registry = metrics.Registry()
    registry.inc("x_total", {"path": 'we"ird\\\n'})
    out = metrics.Exposition()
    saved, metrics.registry = metrics.registry, registry
    try:
        metrics.render_process(out)
    finally:
        metrics.registry = saved
    line = next(l for l in out.lines if l.startswith("x_total{"))
    assert line == f'x_total{{path="we\\"ird\\\\\\n",worker="{WORKER}"}} 1'
    assert LINE.match(line)


def test_bearer_token_when_configured(client, settings):
    settings.NEWSSTAND_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert scrape(client, HTTP_AUTHORIZATION="Bearer s3cret")


def test_process_figures(client):
    samples = scrape(client)
    assert value(samples, "newsstand_process_resident_memory_bytes", worker=WORKER) > 10_000_000
    assert value(samples, "newsstand_process_start_time_seconds", worker=WORKER) > 1_600_000_000

"""`/metrics` in the Prometheus text exposition format (version 0.0.4), written by hand.

Two kinds of figures:
- Request counts (by view, method and status class) and a latency histogram (by view), counted
  by `MetricsMiddleware` in this process's memory. They are PER PROCESS: gunicorn runs several
  workers and a scrape reaches one of them, so every such series carries a `worker` label (the
  process id). Sum over `worker` in queries (`sum without(worker) (rate(...))`); a restarted
  worker starts a new series from zero, which `rate()` handles as a counter reset.
- Ingest and queue figures (articles by extraction status, feeds by health, task rows by status)
  read from the database at scrape time, so they are the same whichever worker answers.

No client library: the format is a few lines of text, and this keeps the web process small.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_STARTED = time.time()


class Registry:
    """In-process counters. One lock; the critical sections are a few dict operations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[str, list[float]] = {}  # view -> [bucket counts..., sum, count]
        self.events: dict[tuple[str, tuple[tuple[str, str], ...]], int] = defaultdict(int)

    def observe_request(self, view: str, method: str, status: int, seconds: float) -> None:
        status_class = f"{status // 100}xx" if 100 <= status < 600 else "other"
        with self._lock:
            self.requests[(view, method, status_class)] += 1
            row = self.latency.get(view)
            if row is None:
                row = self.latency[view] = [0.0] * (len(BUCKETS) + 2)
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    row[i] += 1
                    break
            row[-2] += seconds
            row[-1] += 1

    def inc(self, name: str, labels: dict[str, str], amount: int = 1) -> None:
        with self._lock:
            self.events[(name, tuple(sorted(labels.items())))] += amount

    def snapshot(self):
        with self._lock:
            return dict(self.requests), {k: list(v) for k, v in self.latency.items()}, dict(self.events)


registry = Registry()


def inc(name: str, **labels: str) -> None:
    """Count an event (e.g. image proxy hits) in this process."""
    registry.inc(name, labels)


# --- the middleware ----------------------------------------------------------------------------

class MetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - start
        match = getattr(request, "resolver_match", None)
        # The route's name, never the raw path: paths carry ids and would explode the series count.
        view = (match.view_name or match._func_path) if match else "unresolved"
        method = request.method if request.method in _METHODS else "other"
        registry.observe_request(view, method, response.status_code, elapsed)
        return response


# --- the text format ----------------------------------------------------------------------------

def escape_label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{escape_label(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Exposition:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {_escape_help(help_text)}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, labels: Iterable[tuple[str, str]], value: float) -> None:
        self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render_process(out: Exposition) -> None:
    requests, latency, events = registry.snapshot()
    worker = ("worker", str(os.getpid()))
    out.family("newsstand_http_requests_total", "counter",
               "HTTP requests answered by this worker process, by view, method and status class.")
    for (view, method, status), n in sorted(requests.items()):
        out.sample("newsstand_http_requests_total",
                   [("view", view), ("method", method), ("status", status), worker], n)
    out.family("newsstand_http_request_duration_seconds", "histogram",
               "Time to answer a request in this worker process (middleware to middleware), by view.")
    for view, row in sorted(latency.items()):
        cumulative = 0.0
        for bound, count in zip(BUCKETS, row):
            cumulative += count
            out.sample("newsstand_http_request_duration_seconds_bucket",
                       [("view", view), worker, ("le", _number(bound))], cumulative)
        out.sample("newsstand_http_request_duration_seconds_bucket",
                   [("view", view), worker, ("le", "+Inf")], row[-1])
        out.sample("newsstand_http_request_duration_seconds_sum", [("view", view), worker], row[-2])
        out.sample("newsstand_http_request_duration_seconds_count", [("view", view), worker], row[-1])
    by_name: dict[str, list] = defaultdict(list)
    for (name, labels), n in sorted(events.items()):
        by_name[name].append((labels, n))
    for name, rows in by_name.items():
        out.family(name, "counter", _EVENT_HELP.get(name, "Events counted in this worker process."))
        for labels, n in rows:
            out.sample(name, [*labels, worker], n)
    out.family("newsstand_process_resident_memory_bytes", "gauge", "Resident memory of this worker process.")
    out.sample("newsstand_process_resident_memory_bytes", [worker], _rss_bytes())
    out.family("newsstand_process_start_time_seconds", "gauge", "When this worker process started (Unix time).")
    out.sample("newsstand_process_start_time_seconds", [worker], round(_STARTED, 3))


_EVENT_HELP = {
    "newsstand_page_cache_total": "Reader pages answered by this worker process from its page cache "
                                  "(hit), rendered and stored (miss), or rendered for a reader the "
                                  "cache does not serve (bypass: logged in, cache off).",
    "newsstand_image_proxy_total": "Image proxy answers in this worker process: cache hit, miss "
                                   "(fetched and resized) or error (with the HTTP status).",
}


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def render_database(out: Exposition) -> None:
    """Figures read from the database now; `newsstand_database_up 0` if it cannot be read."""
    from django.db import DatabaseError
    from django.db.models import Count, Q

    from newsstand.ingest.models import Feed
    from newsstand.news.models import Article, ExtractionStatus

    try:
        articles = dict(Article.objects.order_by().values_list("extraction_status")
                        .annotate(n=Count("id")).values_list("extraction_status", "n"))
        # The newest row by primary key, not MAX(first_seen_at): that column has no index, and a
        # scrape must stay cheap at millions of articles. Rows are stored as they are first seen.
        last_seen = Article.objects.order_by("-id").values_list("first_seen_at", flat=True).first()
        # Feed.health, as one query: disabled / failing / new / ok.
        feeds = Feed.objects.aggregate(
            disabled=Count("id", filter=Q(enabled=False)),
            failing=Count("id", filter=Q(enabled=True, consecutive_errors__gt=0)),
            new=Count("id", filter=Q(enabled=True, consecutive_errors=0, last_success_at__isnull=True)),
            ok=Count("id", filter=Q(enabled=True, consecutive_errors=0, last_success_at__isnull=False)),
        )
        tasks = _task_rows()
    except DatabaseError:
        out.family("newsstand_database_up", "gauge", "1 if the database answered this scrape.")
        out.sample("newsstand_database_up", [], 0)
        return
    out.family("newsstand_database_up", "gauge", "1 if the database answered this scrape.")
    out.sample("newsstand_database_up", [], 1)
    out.family("newsstand_articles", "gauge", "Stored articles, by extraction status.")
    for status in ExtractionStatus.values:
        out.sample("newsstand_articles", [("extraction_status", status)], articles.get(status, 0))
    out.family("newsstand_article_last_seen_timestamp_seconds", "gauge",
               "When the most recently stored article was first seen (Unix time); stalls when "
               "ingestion stops.")
    out.sample("newsstand_article_last_seen_timestamp_seconds", [],
               round(last_seen.timestamp(), 3) if last_seen else 0)
    out.family("newsstand_feeds", "gauge", "Feeds by health: ok, failing, new (never fetched), disabled.")
    for health in ("ok", "failing", "new", "disabled"):
        out.sample("newsstand_feeds", [("health", health)], feeds[health])
    out.family("newsstand_tasks", "gauge",
               "Background task rows by queue and status (READY rows are the queue depth).")
    for (queue, status), n in sorted(tasks.items()):
        out.sample("newsstand_tasks", [("queue", queue), ("status", status)], n)


def _task_rows() -> dict[tuple[str, str], int]:
    from django.db.models import Count
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    rows = {(q, s): 0 for q in settings.TASKS["default"].get("QUEUES", ["default"])
            for s in TaskResultStatus.values}
    for queue, status, n in (DBTaskResult.objects.order_by().values_list("queue_name", "status")
                             .annotate(n=Count("id")).values_list("queue_name", "status", "n")):
        rows[(queue, status)] = n
    return rows


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "NEWSSTAND_METRICS_TOKEN", "")
    if token and not constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponse("A bearer token is required (NEWSSTAND_METRICS_TOKEN)\n", status=401,
                            content_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    out = Exposition()
    render_process(out)
    render_database(out)
    response = HttpResponse(out.text(), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response

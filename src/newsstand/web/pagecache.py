"""A short-lived full-response cache for the anonymous reader pages (home, article, source,
tag, story).

What is cached: a GET or HEAD by a reader without a session cookie, answered 200 by the view,
with no cookie set, no CSRF token used and the session untouched. Everything else (POST, a
logged-in reader, a 400 for a malformed parameter, a 404) goes straight to the view and is
never stored. The templates emit no {% csrf_token %} (the only forms, search, use GET); were
one added, its pages would simply stop being stored.

The key is the full URL (scheme, host, path and query string, so "load more" pages, absolute
OpenGraph URLs and the like are each their own entry). Pages do not vary on Accept-Language:
there is no LocaleMiddleware, and site.js localizes relative times in the browser. Listing
pages (home, source, tag, story) add the *site version* to the key:

- a stamp read from the database (newest article id, newest extraction time, newest story
  update), re-read at most once every VERSION_CHECK_SECONDS per process: so an article a
  worker stores or makes readable anywhere shows on the lists within about a second;
- a counter bumped by any save or delete of news/ingest/intel models in this process
  (newsstand.web.apps connects it), so this process sees its own changes at once.

An article page depends on its own article only (its related links and tags are filled by
intel later), so it is keyed by URL and the local counter only: new articles elsewhere do not
evict it, and a change made by another process shows when the entry expires. Everything else
that changes (story scores, tag counts, retitles, a worker whose clock lags the others')
shows within NEWSSTAND_PAGE_CACHE_SECONDS (default 30; 0 turns the cache off).

Entries live in the "pages" cache (settings.CACHES): in-process memory (LocMemCache), bounded
by MAX_ENTRIES, zlib-compressed (a ~15 kB article page is ~4 kB). So with several gunicorn
workers or machines each process has its own copy, and a page may be rendered once per
process per TTL; pointing the "pages" alias at a shared backend (Redis, Memcached) shares
them without code changes, the version stamp being read from the shared database.

Responses carry an ETag (of the body, computed once per entry) and a Last-Modified (when the
entry was rendered), so ConditionalGetMiddleware answers revalidations with 304s, and
`Vary: Cookie`, so a shared proxy never hands an anonymous copy to a logged-in reader."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
import zlib

from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches
from django.db import connection
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers, set_response_etag
from django.utils.http import http_date

from newsstand.web import metrics

CACHE_ALIAS = "pages"
VERSION_CHECK_SECONDS = 1.0
# Apps whose saved rows show on the reader pages.
_PAGE_APPS = frozenset({"news", "ingest", "intel"})
# Headers of the view's response that are not kept with the entry (added per request).
_NOT_STORED = frozenset({"set-cookie", "date", "expires"})

_lock = threading.Lock()
_generation = 0
_stamp: tuple[str, float] | None = None  # (stamp, time.monotonic() when read)


# --- the site version ---------------------------------------------------------------------------

def data_changed(sender=None, **kwargs) -> None:
    """Signal receiver: something shown on the pages was saved or deleted in this process."""
    meta = getattr(sender, "_meta", None)
    if meta is not None and meta.app_label not in _PAGE_APPS:
        return
    global _generation, _stamp
    with _lock:
        _generation += 1
        _stamp = None


def _read_stamp() -> str:
    from newsstand.news.models import Article, Story

    qn = connection.ops.quote_name
    article, story = qn(Article._meta.db_table), qn(Story._meta.db_table)
    # One scalar subquery per MAX: each is a single index step (SQLite applies its min/max
    # optimization only to a query with one aggregate).
    sql = (f"SELECT (SELECT MAX({qn('id')}) FROM {article}), (SELECT MAX({qn('extracted_at')}) FROM {article}), "
           f"(SELECT MAX({qn('last_updated_at')}) FROM {story})")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return "|".join("" if value is None else str(value) for value in row)


def site_version() -> str:
    """The version listing pages are keyed by; reads the database at most once a second."""
    global _stamp
    now = time.monotonic()
    generation, known = _generation, _stamp
    if known is None or now - known[1] >= VERSION_CHECK_SECONDS:
        known = (_read_stamp(), now)
        with _lock:
            if generation == _generation:  # no local change while reading: keep it
                _stamp = known
    return f"{generation}:{known[0]}"


def clear() -> None:
    """Forget every entry and the remembered stamp (tests; after restoring a backup)."""
    global _stamp
    with _lock:
        _stamp = None
    _cache().clear()


# --- the cache ----------------------------------------------------------------------------------

def ttl() -> int:
    return int(getattr(settings, "NEWSSTAND_PAGE_CACHE_SECONDS", 30))


def _cache():
    try:
        return caches[CACHE_ALIAS]
    except InvalidCacheBackendError:
        return caches["default"]


def cacheable_request(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    # A session cookie means a reader who may be logged in (or hold per-reader state): their
    # pages are theirs. Without one, no session can be loaded, so the reader is anonymous.
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return False
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    return True


def storable_response(request, response) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if response.has_header("Vary") or "private" in response.get("Cache-Control", "") \
            or "no-store" in response.get("Cache-Control", ""):
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or request.META.get("CSRF_COOKIE_USED"):
        return False  # the page carries a CSRF token: it belongs to this reader
    session = getattr(request, "session", None)
    if session is not None and session.accessed:
        return False  # the view read the session: the page may depend on who asks
    return True


def _key(request, versioned: bool) -> str:
    version = site_version() if versioned else f"{_generation}:-"
    url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    digest = hashlib.sha256(f"{version}\n{url}".encode("utf-8", "surrogateescape")).hexdigest()
    return f"page:{digest}"


def _store(key: str, response, seconds: int) -> None:
    set_response_etag(response)
    response["Last-Modified"] = http_date()
    headers = [(name, value) for name, value in response.items() if name.lower() not in _NOT_STORED]
    entry = (response.status_code, headers, zlib.compress(response.content, 1))
    _cache().set(key, entry, seconds)


def _rebuild(entry) -> HttpResponse:
    status, headers, body = entry
    response = HttpResponse(zlib.decompress(body), status=status)
    for name, value in headers:
        response[name] = value
    return response


# Single flight: when an entry expires or the version moves, every thread of the process that
# asks for that page meanwhile would render it too (a burst of identical renders, all slow
# because they share the GIL). The first renders; the others wait for it and serve its copy.
RENDER_WAIT_SECONDS = 10.0
_rendering: dict[str, threading.Event] = {}


def _render_once(key: str, render):
    """(entry or None, response or None): the entry another thread just stored, else this
    thread's own response (then stored, if it may be, for the next readers)."""
    with _lock:
        running = _rendering.get(key)
        if running is None:
            running = _rendering[key] = threading.Event()
            mine = True
        else:
            mine = False
    if not mine:
        running.wait(RENDER_WAIT_SECONDS)
        entry = _cache().get(key)
        if entry is not None:
            return entry, None
        return None, render()  # its page was not storable (or it failed): render our own
    try:
        return None, render()
    finally:
        with _lock:
            _rendering.pop(key, None)
        running.set()


def reader_page(view=None, *, versioned: bool = True):
    """Cache a reader page's responses (see the module's docstring); `versioned=False` for
    pages that do not list other articles (the article page)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            seconds = ttl()
            if seconds <= 0 or not cacheable_request(request):
                metrics.inc("newsstand_page_cache_total", result="bypass")
                response = view(request, *args, **kwargs)
                patch_vary_headers(response, ("Cookie",))
                return response
            key = _key(request, versioned)
            entry = _cache().get(key)
            if entry is None:
                def render():
                    metrics.inc("newsstand_page_cache_total", result="miss")
                    rendered = view(request, *args, **kwargs)
                    if storable_response(request, rendered):
                        _store(key, rendered, seconds)
                    return rendered

                entry, response = _render_once(key, render)
            if entry is not None:
                metrics.inc("newsstand_page_cache_total", result="hit")
                response = _rebuild(entry)
            patch_vary_headers(response, ("Cookie",))
            return response

        return wrapped

    return decorate(view) if view is not None else decorate

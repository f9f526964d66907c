"""A short-lived full-response cache for the anonymous reader pages (home, article, source,
tag, story), shared by the web processes of one machine.

What is cached: a GET or HEAD by a reader without a session cookie, answered 200 by the view,
with no cookie set, no CSRF token used and the session untouched. Everything else (POST, a
logged-in reader, a 400 for a malformed parameter, a 404) goes straight to the view and is
never stored. The templates emit no {% csrf_token %} (the only forms, search, use GET); were
one added, its pages would simply stop being stored.

Where: `PageCacheMiddleware`, early in MIDDLEWARE, answers a hit before sessions, CSRF,
auth, messages, URL resolution and the view run (a hit costs about what /healthz costs),
and on a miss lets the request through and stores the finished response, with the headers
the inner middleware added. `reader_page` marks the views it may cache and checks what
each view returned; used without the middleware (a view called directly) it caches by
itself, the same way.

The key is the full URL (scheme, host, path and query string, so "load more" pages, absolute
OpenGraph URLs and the like are each their own entry). Pages do not vary on Accept-Language:
there is no LocaleMiddleware, and site.js localizes relative times in the browser. Listing
pages (home, source, tag, story) add the *site version* to the key:

- a stamp read from the database (newest article id, newest extraction time, newest story
  update), re-read at most once every VERSION_CHECK_SECONDS per process: so an article a
  worker stores or makes readable anywhere shows on the lists within about a second;
- a counter bumped by any save or delete of news/ingest/intel models in this process
  (newsstand.web.apps connects it), so this process sees its own changes at once. Once
  bumped it carries the process id, so it never matches another process's keys.

An article page depends on its own article only (its related links and tags are filled by
intel later), so it is keyed by URL and the local counter only: new articles elsewhere do not
evict it, and a change made by another process shows when the entry expires. Everything else
that changes (story scores, tag counts, retitles, a worker whose clock lags the others')
shows within NEWSSTAND_PAGE_CACHE_SECONDS (default 30; 0 turns the cache off).

Entries live in the "pages" cache (settings.CACHES): by default an SQLite file on the local
disk (newsstand.web.sqlitecache), shared by all gunicorn workers, so a page is rendered once
per machine per TTL rather than once per worker, and workers hold no copies in memory.
Bodies are stored as they are and gzip-compressed once (a ~15 kB article page is ~4 kB
compressed): clients that accept gzip get the compressed copy. With several machines, pointing the
"pages" alias at a shared backend (Redis, Memcached) shares them without code changes, the
version stamp being read from the shared database.

Responses carry an ETag (of the uncompressed body; weak, W/"…", on the gzip variant, as
Django's GZipMiddleware does) and a Last-Modified (when the entry was rendered), answered
with 304s, and `Vary: Cookie, Accept-Encoding`, so a shared proxy never hands an anonymous
copy to a logged-in reader nor a compressed one to a client that cannot read it."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import re
import threading
import time

from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches
from django.db import connection
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import get_conditional_response, patch_vary_headers, set_response_etag
from django.utils.http import http_date, parse_http_date_safe

from newsstand.web import metrics

CACHE_ALIAS = "pages"
VERSION_CHECK_SECONDS = 1.0
# Apps whose saved rows show on the reader pages.
_PAGE_APPS = frozenset({"news", "ingest", "intel"})
# Headers of the finished response that are not kept with the entry (set per request).
_NOT_STORED = frozenset({"set-cookie", "date", "expires", "content-length", "content-encoding"})
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
# Bump when the entry's shape changes, so a running cache file is never misread.
_ENTRY_FORMAT = "v3"

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


def _local_version(generation: int) -> str:
    # Entries are shared between processes: a counter another process may also have reached
    # must not name this process's changes.
    return "0" if generation == 0 else f"{os.getpid()}.{generation}"


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
    return f"{_local_version(generation)}:{known[0]}"


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
    """What the view returned may be shared with every anonymous reader."""
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
    version = site_version() if versioned else f"{_local_version(_generation)}:-"
    url = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    digest = hashlib.sha256(f"{version}\n{url}".encode("utf-8", "surrogateescape")).hexdigest()
    return f"page:{_ENTRY_FORMAT}:{digest}"


# An entry: (status, headers, body, the body gzip-compressed, ETag of the plain body,
# Last-Modified as a Unix time). Compressed once when stored, at level 1 (a page in ~0.15 ms,
# within 10% of level 6's size, at half its cost); both kept, as decompressing on every hit
# for clients without gzip costs more than reading the larger row.

def _entry(response) -> tuple:
    if not response.has_header("ETag"):
        set_response_etag(response)
    if not response.has_header("Last-Modified"):
        response["Last-Modified"] = http_date()
    headers = [(name, value) for name, value in response.items() if name.lower() not in _NOT_STORED]
    return (response.status_code, headers, response.content, gzip.compress(response.content, 1, mtime=0),
            response["ETag"], parse_http_date_safe(response["Last-Modified"]))


def _serve(request, entry) -> HttpResponse:
    """The response for `entry`: compressed if the client takes gzip, 304 if it has it."""
    status, headers, body, compressed_body, etag, last_modified = entry
    compressed = bool(_ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")))
    response = HttpResponse(compressed_body if compressed else body, status=status)
    for name, value in headers:
        response.headers[name] = value
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
        if not etag.startswith("W/"):
            etag = "W/" + etag  # another representation of the same page
        response.headers["ETag"] = etag
    response.headers["Content-Length"] = str(len(response.content))
    patch_vary_headers(response, ("Cookie", "Accept-Encoding"))
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)


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


def _answer(request, key: str, render) -> HttpResponse:
    """The cached page for `key`, or what `render()` returns (one render per key at a time)."""
    entry = _cache().get(key)
    if entry is None:
        entry, response = _render_once(key, render)
        if entry is None:
            return response
    metrics.inc("newsstand_page_cache_total", result="hit")
    return _serve(request, entry)


# --- the views ----------------------------------------------------------------------------------

# Set on the request by the middleware once it has looked the page up and missed: the view
# then renders, and the middleware stores the finished response.
_KEY_ATTR = "_page_cache_key"
# Set by reader_page when what the view returned may be stored.
_STORABLE_ATTR = "_page_cache_storable"


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
            if hasattr(request, _KEY_ATTR):  # PageCacheMiddleware looked it up: render
                metrics.inc("newsstand_page_cache_total", result="miss")
                response = view(request, *args, **kwargs)
                if storable_response(request, response):
                    setattr(request, _STORABLE_ATTR, True)
                    response["Last-Modified"] = http_date()
                patch_vary_headers(response, ("Cookie",))
                return response
            # Called without the middleware: the same, here.
            key = _key(request, versioned)

            def render():
                metrics.inc("newsstand_page_cache_total", result="miss")
                rendered = view(request, *args, **kwargs)
                storable = storable_response(request, rendered)
                patch_vary_headers(rendered, ("Cookie",))
                if not storable:
                    return rendered
                stored = _entry(rendered)
                _cache().set(key, stored, seconds)
                return _serve(request, stored)

            return _answer(request, key, render)

        wrapped.page_cache = {"versioned": versioned}
        return wrapped

    return decorate(view) if view is not None else decorate


# --- the middleware -----------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _route(path: str, urlconf):
    """(ResolverMatch, versioned) when `path` is a cached reader page, else None. Per path, as
    resolving is most of what a hit would otherwise cost; bounded, so odd paths cannot grow it."""
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    options = getattr(match.func, "page_cache", None)
    return (match, options["versioned"]) if options else None


class PageCacheMiddleware:
    """Answers anonymous GET/HEAD of cached reader pages before the rest of the middleware runs,
    and stores what the rest returned on a miss. Place it after SecurityMiddleware (its
    redirects still apply) and before SessionMiddleware."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        seconds = ttl()
        route = None
        if seconds > 0 and cacheable_request(request):
            route = _route(request.path_info, getattr(request, "urlconf", None))
        if route is None:
            return self.get_response(request)
        match, versioned = route
        key = _key(request, versioned)
        setattr(request, _KEY_ATTR, key)  # tells reader_page, on a miss, that we store
        request.resolver_match = match  # what MetricsMiddleware names a hit by (a miss resolves anew)
        return _answer(request, key, lambda: self._render(request, key, seconds))

    def _render(self, request, key: str, seconds: int):
        response = self.get_response(request)
        # The view's answer could be shared (reader_page said so) and nothing on the way out
        # made it personal (a cookie) or partial (a 304 for this reader's copy).
        if getattr(request, _STORABLE_ATTR, False) and response.status_code == 200 \
                and not response.streaming and not response.cookies:
            entry = _entry(response)
            _cache().set(key, entry, seconds)
            return _serve(request, entry)
        return response

"""Ingestion speed: `newsstand fetch --all` against local publishers, as ratios to baselines
measured in the same run (the machine is shared and noisy; absolute times mean little).

    .venv/bin/python bench/ingest.py                       # 500 feeds x 20 items (10,000 articles)
    .venv/bin/python bench/ingest.py --feeds 20 --items 5  # a quick look

Figures (each one leads with a ratio; absolute numbers follow):
  1. Ingest throughput: articles/s of `newsstand fetch --all` (feeds + article pages, HTTP,
     extraction, SQLite) divided by the articles/s of its unavoidable parts alone on the same
     bytes, in-process and single-threaded, no HTTP, no database:
       baseline A = feedparser.parse(feed) + trafilatura.extract(page) with trafilatura's defaults;
       baseline B = feedparser.parse(feed) + our own extract_page(page) (tuned, slower: the fairer one;
                    timed on every 2nd feed's pages by default and scaled, see --baseline-b-every).
     Half of the feeds are timed just before our run and half just after, so that a change in the
     machine's load weighs on both sides; a CPU-time version of the ratio is printed too.
  2. Feeds only (NEWSSTAND_FETCH_PAGES=false) against the `reader` library (make_reader,
     update_feeds(workers=N) with the same N as our --workers), same feeds, same server. Both are
     timed as whole processes (interpreter, imports, set-up); reader's add_feed calls are left out,
     as our feeds are imported before the timed run.
  3. Re-poll of unchanged feeds (every feed answers 304) against the first poll, feeds-only and
     with pages.
  4. Peak RSS of the `newsstand fetch` process over the run with pages (wait4 rusage of that child).

The publishers are served by a child process (its own GIL) on 127.0.0.1: one site per feed, RSS
2.0 or Atom, article pages built from the bundled Wikinews corpus with a unique opening sentence
per item and the furniture of a news site around it (nav, cookie banner, share bar, figure,
related links, most-read sidebar, comments, footer, scripts). ETag/If-None-Match and
Last-Modified/If-Modified-Since give 304s. The server counts what it answered, so the run is
checked: every feed 200 then 304, every page fetched once, 10,000 articles stored, none failed.
Exit status is non-zero whenever a figure could not be measured or the run was invalid.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
NEWSSTAND = VENV_BIN / "newsstand"
TARGET_INGEST = 0.7
TARGET_VS_READER = 2.0
TARGET_REPOLL = 10.0


class BenchError(RuntimeError):
    """The run could not be measured (or measured something other than it should)."""


# =============================================================================================
# The synthetic publishers: pure functions of (feed number, item number), so the server child
# and this process agree on every byte without sharing state.
# =============================================================================================

PLACES = ("Northbridge", "Elm Valley", "Port Aster", "Kingsford", "Lowmarsh", "Redcliff", "Ashford",
          "Greywater", "Millbrook", "Stonehaven", "Westmere", "Oakridge", "Fairhaven", "Highgate",
          "Brackenfield", "Marlow Bay", "Thornbury", "Silverlake", "Eastwick", "Cobalt City")
MASTHEADS = ("Herald", "Courier", "Gazette", "Chronicle", "Observer", "Tribune", "Post", "Examiner",
             "Dispatch", "Sentinel", "Record", "Ledger", "Standard", "Mercury", "Clarion")
SECTIONS = ("World", "Politics", "Business", "Science", "Health", "Technology", "Sport", "Culture",
            "Environment", "Opinion", "Local", "Travel")
DESKS = ("foreign", "national", "city", "business", "science", "politics", "weekend", "night")
TITLE_PREFIXES = ("", "", "", "Update: ", "Analysis: ", "Explained: ", "Live: ", "Breaking: ")
AUTHORS = ("Ana Ruiz", "Tom Becker", "Priya Nair", "Jon Olsen", "Mei Tanaka", "Sam Okafor",
           "Lena Varga", "Omar Haddad", "Kate Moreau", "Ivo Petrov")
BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SITE_CSS = "".join(f".c{n}{{margin:{n}px;padding:{n % 7}px;color:#{n * 99991 % 0xFFFFFF:06x}}}" for n in range(80))
SITE_JS = ("window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
           "gtag('js',new Date());gtag('config','UA-000000-1');" * 6)


@lru_cache(maxsize=1)
def corpus():
    from newsstand.demo.corpus import load_corpus

    return load_corpus()


def site_name(feed: int) -> str:
    place = PLACES[feed % len(PLACES)]
    masthead = MASTHEADS[(feed // len(PLACES)) % len(MASTHEADS)]
    return f"{place} {masthead} {feed + 1}"


def is_atom(feed: int) -> bool:
    return feed % 5 == 4  # one publisher in five serves Atom, the others RSS 2.0


def feed_path(feed: int) -> str:
    return f"/s{feed}/" + ("atom.xml" if is_atom(feed) else "rss.xml")


def item_number(feed: int, index: int, items: int) -> int:
    return feed * items + index


def item_source(number: int):
    return corpus()[number % len(corpus())]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "story"


def item_time(feed: int, index: int) -> datetime:
    # Newest first in the feed; publishers spread over the last days.
    return BASE_TIME - timedelta(minutes=37 * feed % 2880 + 95 * index)


def item_title(number: int) -> str:
    source = item_source(number)
    return TITLE_PREFIXES[(number // len(corpus())) % len(TITLE_PREFIXES)] + source.title


def page_path(feed: int, index: int, items: int) -> str:
    number = item_number(feed, index, items)
    day = item_time(feed, index).strftime("%Y/%m/%d")
    return f"/s{feed}/{day}/{slugify(item_source(number).title)}-{number}.html"


def opening_sentence(feed: int, number: int) -> str:
    """Unique per item, so no two articles share a text (the pipeline merges identical texts)."""
    return (f"This is report number {number} from the {DESKS[number % len(DESKS)]} desk of the "
            f"{site_name(feed)}, filed for readers in {PLACES[(number * 7) % len(PLACES)]}.")


def lead(number: int) -> str:
    paragraphs = item_source(number).paragraphs
    return paragraphs[0] if paragraphs else ""


def render_feed(feed: int, items: int, base: str) -> bytes:
    name = site_name(feed)
    home = f"{base}/s{feed}/"
    if is_atom(feed):
        entries = []
        for index in range(items):
            number = item_number(feed, index, items)
            link = base + page_path(feed, index, items)
            when = item_time(feed, index).isoformat()
            entries.append(
                f"<entry><title>{xml_escape(item_title(number))}</title>"
                f'<link rel="alternate" type="text/html" href="{xml_escape(link)}"/>'
                f"<id>tag:s{feed}.example,2024:{number}</id><published>{when}</published><updated>{when}</updated>"
                f"<author><name>{AUTHORS[number % len(AUTHORS)]}</name></author>"
                f'<category term="{SECTIONS[number % len(SECTIONS)]}"/>'
                f'<summary type="html">{xml_escape("<p>" + html.escape(lead(number)) + "</p>")}</summary></entry>'
            )
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
                f"<title>{xml_escape(name)}</title><subtitle>Latest news from the {xml_escape(name)}</subtitle>"
                f'<link rel="alternate" href="{home}"/><link rel="self" href="{base}{feed_path(feed)}"/>'
                f"<id>{home}</id><updated>{item_time(feed, 0).isoformat()}</updated>"
                f"<icon>{base}/static/s{feed}/icon.png</icon>{''.join(entries)}</feed>").encode()
    parts = []
    for index in range(items):
        number = item_number(feed, index, items)
        link = base + page_path(feed, index, items)
        parts.append(
            f"<item><title>{xml_escape(item_title(number))}</title><link>{xml_escape(link)}</link>"
            f'<guid isPermaLink="true">{xml_escape(link)}</guid>'
            f"<pubDate>{format_datetime(item_time(feed, index))}</pubDate>"
            f"<dc:creator>{AUTHORS[number % len(AUTHORS)]}</dc:creator>"
            f"<category>{SECTIONS[number % len(SECTIONS)]}</category>"
            f"<description>{xml_escape('<p>' + html.escape(lead(number)) + '</p>')}</description>"
            f'<media:content url="{base}/img/{number}.jpg" medium="image" width="1200" height="675"/></item>'
        )
    return ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
            'xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f"<title>{xml_escape(name)}</title><link>{home}</link>"
            f"<description>Latest news from the {xml_escape(name)}</description><language>en-gb</language>"
            f'<atom:link href="{base}{feed_path(feed)}" rel="self" type="application/rss+xml"/>'
            f"<lastBuildDate>{format_datetime(item_time(feed, 0))}</lastBuildDate>"
            f"<image><url>{base}/static/s{feed}/logo.png</url><title>{xml_escape(name)}</title><link>{home}</link></image>"
            f"{''.join(parts)}</channel></rss>").encode()


def feed_last_modified(feed: int) -> str:
    return format_datetime(item_time(feed, 0), usegmt=True)


def render_page(feed: int, index: int, items: int, base: str) -> bytes:
    number = item_number(feed, index, items)
    source = item_source(number)
    name, title = site_name(feed), item_title(number)
    url = base + page_path(feed, index, items)
    when = item_time(feed, index)
    author = AUTHORS[number % len(AUTHORS)]
    section = SECTIONS[number % len(SECTIONS)]
    e = html.escape
    others = [item_source(number + k * 31) for k in range(1, 15)]
    paragraphs = [opening_sentence(feed, number) + " " + (source.paragraphs[0] if source.paragraphs else ""),
                  *source.paragraphs[1:]]
    body = []
    for n, paragraph in enumerate(paragraphs):
        body.append(f"<p>{e(paragraph)}</p>")
        if n == 2:
            body.append(f'<aside class="read-more"><strong>Read more:</strong> <a href="/s{feed}/more/{number + 1}">'
                        f"{e(others[0].title)}</a></aside>")
        if n == 4:
            body.append('<div class="ad-slot" data-slot="mid-article"><span>Advertisement</span></div>')
    nav = "".join(f'<li><a href="/s{feed}/{s.lower()}">{s}</a></li>' for s in SECTIONS)
    related = "".join(
        f'<li><a href="/s{feed}/related/{number}-{k}"><img src="{base}/img/t{number}-{k}.jpg" alt="">'
        f"<h3>{e(o.title)}</h3></a><p>{e((o.paragraphs[0] if o.paragraphs else '')[:140])}…</p></li>"
        for k, o in enumerate(others[1:5]))
    most_read = "".join(f'<li><a href="/s{feed}/popular/{k}">{e(o.title)}</a></li>' for k, o in enumerate(others[5:]))
    footer = "".join(f'<li><a href="/s{feed}/{slugify(w)}">{w}</a></li>' for w in (
        "About us", "Contact", "Careers", "Advertise", "Terms of use", "Privacy policy", "Cookie settings",
        "Accessibility", "Corrections", "Newsletters", "Subscribe", "Archive", "Site map", "RSS feeds"))
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                     "datePublished": when.isoformat(), "dateModified": when.isoformat(),
                     "author": {"@type": "Person", "name": author},
                     "publisher": {"@type": "Organization", "name": name},
                     "image": f"{base}/img/{number}.jpg", "mainEntityOfPage": url})
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} | {e(name)}</title>
<meta name="description" content="{e(lead(number)[:160])}">
<link rel="canonical" href="{e(url)}">
<meta property="og:type" content="article"><meta property="og:title" content="{e(title)}">
<meta property="og:url" content="{e(url)}"><meta property="og:site_name" content="{e(name)}">
<meta property="og:image" content="{base}/img/{number}.jpg">
<meta property="article:published_time" content="{when.isoformat()}">
<meta property="article:section" content="{section}"><meta name="author" content="{author}">
<link rel="alternate" type="application/rss+xml" title="{e(name)}" href="{base}{feed_path(feed)}">
<link rel="stylesheet" href="/static/site.css"><style>{SITE_CSS}</style>
<script type="application/ld+json">{ld}</script>
<script>{SITE_JS}</script>
</head><body class="article-page">
<div id="cookie-banner" class="cookie"><p>We use cookies to improve your experience and to show you
personalised advertising. You can change your settings at any time.</p><button>Accept all</button>
<button>Manage settings</button></div>
<header class="masthead"><a class="logo" href="/s{feed}/"><img src="{base}/static/s{feed}/logo.svg" alt="{e(name)}"></a>
<nav class="sections"><ul>{nav}</ul></nav>
<form class="search" action="/s{feed}/search"><label for="q">Search</label><input id="q" name="q"><button>Go</button></form>
<a class="subscribe" href="/s{feed}/subscribe">Subscribe from £1 a week</a></header>
<div class="ticker"><strong>Breaking</strong> <a href="/s{feed}/live">{e(others[1].title)}</a></div>
<main id="content"><article class="story">
<nav class="breadcrumbs"><a href="/s{feed}/">Home</a> › <a href="/s{feed}/{section.lower()}">{section}</a></nav>
<h1 class="headline">{e(title)}</h1>
<div class="byline">By <a rel="author" href="/s{feed}/authors/{slugify(author)}">{author}</a>, {DESKS[number % len(DESKS)]} desk ·
<time datetime="{when.isoformat()}">{when.strftime("%-d %B %Y, %H:%M")}</time></div>
<ul class="share"><li><a href="#">Share on Facebook</a></li><li><a href="#">Share on X</a></li>
<li><a href="#">Share by email</a></li><li><a href="#">Copy link</a></li></ul>
<figure class="lead-image"><img src="{base}/img/{number}.jpg" alt="{e(source.title)}" width="1200" height="675">
<figcaption>{e(source.title)}. Photograph: {name} picture desk</figcaption></figure>
<div class="article-body">
{"".join(body)}
</div>
<p class="tags">Topics: <a href="/s{feed}/{section.lower()}">{section}</a> · <a href="/s{feed}/world">World</a></p>
</article>
<section class="related"><h2>Related stories</h2><ul>{related}</ul></section>
<section class="comments"><h2>Comments (0)</h2><p>Comments are closed on this article.
<a href="/s{feed}/login">Sign in</a> or <a href="/s{feed}/register">create an account</a> to join the discussion.</p></section>
</main>
<aside class="sidebar"><h2>Most read</h2><ol>{most_read}</ol>
<div class="newsletter"><h3>Get the morning briefing</h3><p>The day's top stories in your inbox.</p>
<form><label for="email">Email address</label><input id="email" type="email"><button>Sign up</button></form></div></aside>
<footer class="site-footer"><ul>{footer}</ul><p>© 2024 {e(name)}. All rights reserved. Text adapted from
Wikinews (CC BY 2.5).</p></footer>
<script src="/static/app.js" defer></script><script>{SITE_JS}</script>
</body></html>""".encode()


def route(path: str, feeds: int, items: int) -> tuple[str, int, int] | None:
    """("feed" | "page", feed, item) for a path this server serves, else None."""
    match = re.fullmatch(r"/s(\d+)/(rss|atom)\.xml", path)
    if match:
        feed = int(match.group(1))
        return ("feed", feed, -1) if feed < feeds and feed_path(feed) == path else None
    match = re.fullmatch(r"/s(\d+)/\d{4}/\d\d/\d\d/[a-z0-9-]+-(\d+)\.html", path)
    if match:
        feed, number = int(match.group(1)), int(match.group(2))
        index = number - feed * items
        if feed < feeds and 0 <= index < items and page_path(feed, index, items) == path:
            return ("page", feed, index)
    return None


# =============================================================================================
# The server child (`ingest.py _serve`): its own process, so it does not share the GIL with
# the side being measured. It stops when its stdin closes (the parent exited, however).
# =============================================================================================


def serve(feeds: int, items: int) -> None:
    counts: Counter = Counter()
    lock = threading.Lock()
    state = {"base": ""}

    @lru_cache(maxsize=None)
    def feed_body(feed: int) -> bytes:
        return render_feed(feed, items, state["base"])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms delayed-ACK stalls

        def log_message(self, format, *args):
            pass

        def setup(self):
            super().setup()
            with lock:
                counts["tcp", "connections"] += 1

        def reply(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            head = [f"HTTP/1.1 {status} {self.responses[status][0]}", "Server: bench-publisher",
                    f"Date: {format_datetime(datetime.now(UTC), usegmt=True)}",
                    f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/__stats":
                with lock:
                    body = json.dumps({f"{k[0]} {k[1]}": v for k, v in counts.items()}).encode()
                    if self.path.endswith("?reset=1"):
                        counts.clear()
                self.reply(200, {"Content-Type": "application/json"}, body)
                return
            found = route(path, feeds, items)
            if found is None:
                with lock:
                    counts["other", 404] += 1
                self.reply(404, {"Content-Type": "text/plain"}, b"not found")
                return
            kind, feed, index = found
            if kind == "feed":
                body = feed_body(feed)
                content_type = ("application/atom+xml" if is_atom(feed) else "application/rss+xml") + "; charset=utf-8"
                modified = feed_last_modified(feed)
            else:
                body = render_page(feed, index, items, state["base"])
                content_type = "text/html; charset=utf-8"
                modified = format_datetime(item_time(feed, index), usegmt=True)
            etag = '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'
            validators = {"ETag": etag, "Last-Modified": modified, "Cache-Control": "max-age=300"}
            if not_modified(self.headers, etag, modified):
                status, body = 304, b""
                headers = validators
            else:
                status = 200
                headers = {"Content-Type": content_type, **validators}
            with lock:
                counts[kind, status] += 1
            self.reply(status, headers, body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # many fetchers connect at once; the default 5 drops SYNs

    httpd = Server(("127.0.0.1", 0), Handler)
    state["base"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    for feed in range(feeds):
        # Rendered before anyone asks: otherwise whichever side runs first (ours) would
        # share the cores with the rendering of every feed, and the next one would not.
        feed_body(feed)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    print(state["base"], flush=True)
    sys.stdin.read()  # until the parent closes the pipe or dies
    httpd.shutdown()


def not_modified(headers, etag: str, modified: str) -> bool:
    """RFC 9110: If-None-Match wins when present; otherwise If-Modified-Since."""
    tags = headers.get("If-None-Match")
    if tags is not None:
        return tags.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in tags.split(",")]
    since = headers.get("If-Modified-Since")
    if since:
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


# =============================================================================================
# Running children: wall time and their own peak RSS (wait4), output kept in files (a full pipe
# would stall the child), killed as a process group on timeout or when the bench stops.
# =============================================================================================

LIVE: set[subprocess.Popen] = set()


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    returncode: int
    max_rss_mb: float
    cpu_s: float  # user + system time of the child
    stdout: str
    stderr: str


def run_child(cmd: list[str], env: dict[str, str], timeout: float) -> ChildRun:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        LIVE.add(proc)
        timer = threading.Timer(timeout, kill_group, (proc,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            LIVE.discard(proc)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
        out.seek(0)
        err.seek(0)
        run = ChildRun(seconds, proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime,
                       out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if seconds >= timeout:
        raise BenchError(f"{' '.join(cmd[:3])} ... timed out after {timeout:.0f} s")
    return run


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def newsstand(args: list[str], data_dir: Path, *, fetch_pages: bool = True, timeout: float = 1800) -> ChildRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSSTAND_")}
    env |= {
        "NEWSSTAND_DATA_DIR": str(data_dir),
        "NEWSSTAND_ALLOWED_FETCH_HOSTS": "127.0.0.1",
        "NEWSSTAND_DOMAIN_RATE": "0",
        "NEWSSTAND_DOMAIN_CONCURRENCY": "64",
        "NEWSSTAND_FETCH_PAGES": "true" if fetch_pages else "false",
        "NEWSSTAND_LOG_LEVEL": "WARNING",  # no log line per feed in the measured process
        "DJANGO_SETTINGS_MODULE": "newsstand.settings",
    }
    run = run_child([str(NEWSSTAND), *args], env, timeout)
    if run.returncode != 0:
        raise BenchError(f"`newsstand {' '.join(args)}` exited with {run.returncode}:\n"
                         f"{run.stdout[-2000:]}\n{run.stderr[-3000:]}")
    return run


def fetch_all(data_dir: Path, workers: int, *, fetch_pages: bool) -> ChildRun:
    return newsstand(["fetch", "--all", "--no-progress", "--workers", str(workers)], data_dir,
                     fetch_pages=fetch_pages)


# =============================================================================================
# The server, from this side
# =============================================================================================


def start_server(feeds: int, items: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, __file__, "_serve", str(feeds), str(items)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    LIVE.add(proc)
    base = proc.stdout.readline().strip()
    if not base.startswith("http://127.0.0.1:"):
        raise BenchError(f"the publisher server did not start (said {base!r})")
    return proc, base


def stop_server(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
        proc.wait(timeout=5)
    except (subprocess.TimeoutExpired, OSError):
        kill_group(proc)
        proc.wait()
    LIVE.discard(proc)


def server_stats(base: str) -> Counter:
    """What the server answered since the last call (and reset)."""
    import urllib.request

    with urllib.request.urlopen(base + "/__stats?reset=1", timeout=10) as response:
        return Counter(json.loads(response.read()))


def expect_served(stats: Counter, expected: dict[str, int], what: str) -> int:
    """Checks what the server answered; returns how many TCP connections were opened."""
    unexpected = {k: v for k, v in stats.items() if v and k not in expected and not k.startswith("tcp ")}
    wrong = {k: (stats.get(k, 0), v) for k, v in expected.items() if stats.get(k, 0) != v}
    if unexpected or wrong:
        raise BenchError(f"{what}: the server answered {dict(stats)}, expected {expected}")
    return stats.get("tcp connections", 0)


# =============================================================================================
# The database after a run (read directly with sqlite3: no Django in this process)
# =============================================================================================


def article_counts(data_dir: Path) -> Counter:
    with sqlite3.connect(data_dir / "newsstand.sqlite3") as db:
        return Counter(dict(db.execute("SELECT extraction_status, COUNT(*) FROM news_article "
                                       "GROUP BY extraction_status").fetchall()))


def prepare(data_dir: Path, base: str, feeds: int) -> dict[str, float]:
    """migrate, then `feeds import` of an OPML file listing every publisher's feed."""
    data_dir.mkdir(parents=True)
    outlines = "".join(f'<outline type="rss" text="{html.escape(site_name(f))}" '
                       f'xmlUrl="{base}{feed_path(f)}" htmlUrl="{base}/s{f}/"/>' for f in range(feeds))
    opml = data_dir / "feeds.opml"
    opml.write_text(f'<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0"><head><title>bench</title>'
                    f"</head><body><outline text=\"News\">{outlines}</outline></body></opml>")
    migrate = newsstand(["migrate", "--no-input", "-v", "0"], data_dir)
    imported = newsstand(["feeds", "import", str(opml)], data_dir)
    if f"Imported {feeds} new feed(s)" not in imported.stdout:
        raise BenchError(f"feeds import did not import {feeds} feeds: {imported.stdout}")
    return {"migrate_s": migrate.seconds, "import_s": imported.seconds}


def summary_line(run: ChildRun) -> str:
    lines = [line for line in run.stdout.splitlines() if line.startswith("Feeds:")]
    return lines[-1] if lines else "(no summary printed)"


# =============================================================================================
# The `reader` library (`ingest.py _reader DB URLS WORKERS`, its own process like ours)
# =============================================================================================


def reader_child(db: str, urls_file: str, workers: int) -> None:
    try:
        import sgmllib  # noqa: F401  (reader's vendored feedparser imports it by this name)
    except ImportError:
        # reader 3.x needs the `sgmllib3k` package, which nothing installs any more; feedparser
        # 6.0.12+ ships the same module as `feedparser_sgmllib`, so lend it under the old name.
        import feedparser_sgmllib

        sys.modules["sgmllib"] = feedparser_sgmllib
    from reader import make_reader

    started = time.perf_counter()
    reader = make_reader(db)
    made = time.perf_counter()
    for url in Path(urls_file).read_text().split():
        reader.add_feed(url)
    added = time.perf_counter()
    reader.update_feeds(workers=workers)
    updated = time.perf_counter()
    entries = reader.get_entry_counts().total
    broken = reader.get_feed_counts(broken=True).total
    reader.close()
    counted = time.perf_counter()
    print(json.dumps({"make_s": made - started, "add_s": added - made, "update_s": updated - added,
                      "count_s": counted - updated, "entries": entries, "broken_feeds": broken}))


def run_reader(work: Path, base: str, feeds: int, workers: int) -> tuple[ChildRun, dict]:
    urls = work / "reader-urls.txt"
    urls.write_text("\n".join(base + feed_path(f) for f in range(feeds)))
    env = dict(os.environ)
    run = run_child([sys.executable, __file__, "_reader", str(work / "reader.sqlite"), str(urls), str(workers)],
                    env, 1800)
    if run.returncode != 0:
        raise BenchError(f"the reader run failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return run, json.loads(run.stdout.strip().splitlines()[-1])


# =============================================================================================
# Baselines: the unavoidable work alone, in this process, single-threaded, on bytes downloaded
# beforehand (the download is outside the timing).
# =============================================================================================


def run_baselines(base: str, feeds: range, items: int, b_every: int) -> Counter:
    """Wall and CPU seconds of each unavoidable part over these feeds and their pages; baseline B's
    extractor (our extract_page, 3x slower than trafilatura's defaults) runs on every `b_every`-th
    feed's pages only, to keep the full-size run near ten minutes ("extract_page_pages" counts them)."""
    import http.client
    from urllib.parse import urlsplit

    import feedparser
    import trafilatura

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsstand.settings")
    from newsstand.ingest.extract import extract_page

    host = urlsplit(base)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)

    def download(path: str) -> tuple[bytes, str]:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise BenchError(f"baseline download of {path}: HTTP {response.status}")
        return body, response.getheader("Content-Type", "")

    timings: Counter = Counter()
    done: Counter = Counter()

    def timed(name: str, work) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        done[name] += work()
        timings[name + "_s"] += time.perf_counter() - wall
        timings[name + "_cpu_s"] += time.process_time() - cpu

    for feed in feeds:
        feed_bytes, content_type = download(feed_path(feed))
        page_bytes = [download(page_path(feed, i, items))[0] for i in range(items)]
        urls = [base + page_path(feed, i, items) for i in range(items)]
        headers = {"content-type": content_type, "content-location": base + feed_path(feed)}
        timed("feedparser", lambda: len(feedparser.parse(io.BytesIO(feed_bytes), response_headers=headers).entries))
        timed("trafilatura", lambda: sum(bool(trafilatura.extract(page)) for page in page_bytes))
        if feed % b_every == 0:
            timed("extract_page", lambda: sum(bool(extract_page(page.decode("utf-8"), url).text)
                                              for page, url in zip(page_bytes, urls)))
            timings["extract_page_pages"] += items
    connection.close()
    expected = len(feeds) * items
    if (done["feedparser"], done["trafilatura"], done["extract_page"]) != (
            expected, expected, timings["extract_page_pages"]):
        raise BenchError(f"baselines read {done['feedparser']} entries, trafilatura extracted "
                         f"{done['trafilatura']} and extract_page {done['extract_page']} pages; "
                         f"expected {expected}, {expected} and {timings['extract_page_pages']}")
    return timings


# =============================================================================================
# The run
# =============================================================================================


def measure(feeds: int, items: int, workers: int, b_every: int, work: Path, log) -> dict:
    n = feeds * items
    results: dict = {"feeds": feeds, "items": items, "articles": n, "workers": workers}
    server, base = start_server(feeds, items)
    try:
        log(f"publisher server (own process, pid {server.pid}) at {base}")

        # --- feeds only: first poll, then every feed unchanged (304) -----------------------
        only = work / "feeds-only"
        results["prepare_feeds_only"] = prepare(only, base, feeds)
        server_stats(base)
        first = fetch_all(only, workers, fetch_pages=False)
        conns = {"feeds_only_first": expect_served(server_stats(base), {"feed 200": feeds}, "feeds-only first poll")}
        statuses = article_counts(only)
        if sum(statuses.values()) != n:
            raise BenchError(f"feeds-only first poll stored {dict(statuses)}, expected {n} articles")
        log(f"feeds only, first poll: {first.seconds:.2f} s  [{summary_line(first)}]")
        again = fetch_all(only, workers, fetch_pages=False)
        conns["feeds_only_repoll"] = expect_served(server_stats(base), {"feed 304": feeds}, "feeds-only re-poll")
        log(f"feeds only, re-poll (all 304): {again.seconds:.2f} s  [{summary_line(again)}]")
        results["feeds_only"] = {"first_s": first.seconds, "repoll_s": again.seconds,
                                 "first_rss_mb": first.max_rss_mb, "first_cpu_s": first.cpu_s,
                                 "statuses": dict(statuses)}

        # --- reader ----------------------------------------------------------------------------
        theirs, phases = run_reader(work, base, feeds, workers)
        conns["reader"] = expect_served(server_stats(base), {"feed 200": feeds}, "reader")
        if phases["entries"] != n or phases["broken_feeds"]:
            raise BenchError(f"reader stored {phases['entries']} entries ({phases['broken_feeds']} broken "
                             f"feeds), expected {n}")
        reader_s = theirs.seconds - phases["add_s"] - phases["count_s"]
        log(f"reader: {reader_s:.2f} s (update_feeds alone {phases['update_s']:.2f} s)")
        results["reader"] = {"process_s": reader_s, "update_feeds_s": phases["update_s"],
                             "rss_mb": theirs.max_rss_mb, "cpu_s": theirs.cpu_s}

        # --- with pages: startup cost, first poll (the 10k-article run), re-poll --------------
        full = work / "with-pages"
        full.mkdir()
        newsstand(["migrate", "--no-input", "-v", "0"], full)
        startup = fetch_all(full, workers, fetch_pages=True)  # no feeds yet: process start + setup only
        shutil.rmtree(full)
        results["startup_s"] = startup.seconds
        log(f"`newsstand fetch --all` with no feeds (process start-up): {startup.seconds:.2f} s")
        results["prepare_with_pages"] = prepare(full, base, feeds)
        # The baselines run in two halves, one just before and one just after the measured run,
        # so that a change in the machine's load during the run weighs on both sides alike.
        log("baseline, first half of the feeds (download outside the timing, then parse/extract in-process)...")
        baseline = run_baselines(base, range(feeds // 2), items, b_every)
        server_stats(base)
        first = fetch_all(full, workers, fetch_pages=True)
        conns["pages_first"] = expect_served(server_stats(base), {"feed 200": feeds, "page 200": n},
                                             "first poll with pages")
        statuses = article_counts(full)
        stored, done = sum(statuses.values()), statuses.get("done", 0)
        log(f"with pages, first poll: {first.seconds:.2f} s, peak RSS {first.max_rss_mb:.0f} MB  "
            f"[{summary_line(first)}]")
        log("baseline, second half of the feeds...")
        baseline += run_baselines(base, range(feeds // 2, feeds), items, b_every)
        results["baseline"] = dict(baseline)
        server_stats(base)
        again = fetch_all(full, workers, fetch_pages=True)
        conns["pages_repoll"] = expect_served(server_stats(base), {"feed 304": feeds}, "re-poll with pages")
        results["tcp_connections"] = conns
        log(f"with pages, re-poll (all 304): {again.seconds:.2f} s  [{summary_line(again)}]")
        results["with_pages"] = {"first_s": first.seconds, "repoll_s": again.seconds, "rss_mb": first.max_rss_mb,
                                 "first_cpu_s": first.cpu_s,
                                 "stored": stored, "failed_pages": stored - done, "statuses": dict(statuses)}
        if stored != n or done != n:
            raise BenchError(f"the run with pages stored {stored} articles ({dict(statuses)}); expected {n}, "
                             "all with their page extracted")
    finally:
        stop_server(server)
    return results


def report(r: dict, print_=print) -> bool:
    n = r["articles"]
    b, wp, fo, rd = r["baseline"], r["with_pages"], r["feeds_only"], r["reader"]
    ours_aps = n / wp["first_s"]
    sampled = b["extract_page_pages"]
    base_a = n / (b["feedparser_s"] + b["trafilatura_s"])
    # Baseline B's extraction was timed on `sampled` pages: scale it to all n.
    base_b = n / (b["feedparser_s"] + b["extract_page_s"] * n / sampled)
    vs_reader = rd["process_s"] / fo["first_s"]
    repoll_feeds = fo["first_s"] / fo["repoll_s"]
    repoll_pages = wp["first_s"] / wp["repoll_s"]
    r["ratios"] = {"ingest_vs_trafilatura": ours_aps / base_a, "ingest_vs_extract_page": ours_aps / base_b,
                   "feeds_only_vs_reader": vs_reader, "repoll_feeds_only": repoll_feeds,
                   "repoll_with_pages": repoll_pages}
    ok = lambda value, target: "meets" if value >= target else "MISSES"  # noqa: E731
    startup = r["startup_s"]
    print_("")
    print_(f"=== Ingestion: {r['feeds']} feeds x {r['items']} items = {n:,} articles, --workers {r['workers']}, "
           "2 shared cores ===")
    print_("RATIOS (same run)")
    print_(f"  1. ingest throughput / baseline A (feedparser + trafilatura.extract defaults): "
           f"{ours_aps / base_a:.2f}  ({ok(ours_aps / base_a, TARGET_INGEST)} target >= {TARGET_INGEST})")
    print_(f"     ingest throughput / baseline B (feedparser + our extract_page, the fairer one): "
           f"{ours_aps / base_b:.2f}")
    cpu_a = (b["feedparser_cpu_s"] + b["trafilatura_cpu_s"]) / wp["first_cpu_s"]
    cpu_b = (b["feedparser_cpu_s"] + b["extract_page_cpu_s"] * n / sampled) / wp["first_cpu_s"]
    r["ratios"] |= {"cpu_efficiency_vs_trafilatura": cpu_a, "cpu_efficiency_vs_extract_page": cpu_b}
    print_(f"     same in CPU time (baseline CPU s / our CPU s, less sensitive to others' load): "
           f"A {cpu_a:.2f}, B {cpu_b:.2f}")
    print_(f"  2. feeds only, ours vs reader (speed ratio, ours/theirs):                     "
           f"{vs_reader:.2f}x  ({ok(vs_reader, TARGET_VS_READER)} target >= {TARGET_VS_READER:g}x)")
    print_(f"  3. re-poll of unchanged feeds (all 304) vs first poll, feeds only:            "
           f"{repoll_feeds:.1f}x  ({ok(repoll_feeds, TARGET_REPOLL)} target >= {TARGET_REPOLL:g}x)")
    print_(f"     same, with pages (first poll fetched {n:,} pages):                        {repoll_pages:.1f}x")
    print_("ABSOLUTE (this machine, this run; process times include interpreter + Django start-up)")
    print_(f"  ours, with pages: {wp['first_s']:.1f} s = {ours_aps:.1f} articles/s "
           f"({n / max(wp['first_s'] - startup, 1e-9):.1f}/s without the {startup:.2f} s start-up)")
    print_(f"  baseline A: {base_a:.1f} articles/s (feedparser {b['feedparser_s']:.2f} s + trafilatura "
           f"{b['trafilatura_s']:.2f} s); baseline B: {base_b:.1f} articles/s (extract_page "
           f"{b['extract_page_s']:.2f} s on {sampled:,} of the {n:,} pages, scaled); half of the feeds measured "
           "just before our run, half just after")
    print_(f"  feeds only: ours {fo['first_s']:.2f} s ({n / fo['first_s']:.0f} articles/s); reader {rd['process_s']:.2f} s "
           f"(its update_feeds alone {rd['update_feeds_s']:.2f} s; ours less start-up "
           f"{fo['first_s'] - startup:.2f} s)")
    print_(f"  re-poll: feeds only {fo['repoll_s']:.2f} s, with pages {wp['repoll_s']:.2f} s "
           f"(start-up alone {startup:.2f} s)")
    print_(f"  4. peak RSS of `newsstand fetch` over the {n:,}-article run: {wp['rss_mb']:.0f} MB "
           f"(feeds-only run {fo['first_rss_mb']:.0f} MB; reader {rd['rss_mb']:.0f} MB)")
    c = r["tcp_connections"]
    print_(f"  CPU time (user+sys): ours with pages {wp['first_cpu_s']:.1f} s for {wp['first_s']:.1f} s wall "
           f"(baselines A {b['feedparser_cpu_s'] + b['trafilatura_cpu_s']:.1f} s, "
           f"B {b['feedparser_cpu_s'] + b['extract_page_cpu_s'] * n / sampled:.1f} s); ours "
           f"feeds only {fo['first_cpu_s']:.1f} s; reader {rd['cpu_s']:.1f} s (whole process)")
    print_(f"  TCP connections the server accepted: first poll {c['feeds_only_first']} (feeds only), "
           f"{c['pages_first']} (with pages); re-poll {c['feeds_only_repoll']} / {c['pages_repoll']} for "
           f"{r['feeds']} feeds; reader {c['reader']}")
    print_(f"  articles stored: {wp['stored']:,} of {n:,}; failed pages: {wp['failed_pages']} "
           f"(statuses {wp['statuses']})")
    return wp["stored"] == n and wp["failed_pages"] == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=20, help="items per feed, each with an article page")
    parser.add_argument("--workers", type=int, default=8, help="`newsstand fetch --workers` and reader's workers")
    parser.add_argument("--baseline-b-every", type=int, default=2, metavar="K",
                        help="time baseline B's extract_page on every K-th feed's pages (default 2: half "
                             "of them, which keeps the full run near 10 minutes; 1 = all)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if min(args.feeds, args.items, args.workers, args.baseline_b_every) < 1:
        parser.error("--feeds, --items, --workers and --baseline-b-every must be at least 1")
    if not NEWSSTAND.exists():
        print(f"error: {NEWSSTAND} not found; run `make` or install the project into .venv first", file=sys.stderr)
        return 2
    try:
        import reader  # noqa: F401
    except ImportError:
        print("error: the `reader` library is missing: .venv/bin/pip install 'reader>=3.15' "
              "(the project's `bench` extra)", file=sys.stderr)
        return 2

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below
    work = Path(tempfile.mkdtemp(prefix="newsstand-bench-ingest-"))
    started = time.perf_counter()
    log = lambda message: print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)  # noqa: E731
    try:
        results = measure(args.feeds, args.items, args.workers, args.baseline_b_every, work, log)
        valid = report(results)
        results["total_s"] = time.perf_counter() - started
        print(f"(whole benchmark: {results['total_s']:.0f} s)")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=2))
        return 0 if valid else 1
    except BenchError as error:
        print(f"error: could not measure: {error}", file=sys.stderr)
        return 1
    finally:
        for proc in list(LIVE):
            kill_group(proc)
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_reader":
        reader_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(main())

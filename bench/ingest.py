"""Ingestion speed: `newsstand fetch --all` against local publishers, as ratios to baselines
measured in the same run (the machine is shared and noisy; absolute times mean little).

    .venv/bin/python bench/ingest.py                       # 500 feeds x 20 items (10,000 articles)
    .venv/bin/python bench/ingest.py --feeds 20 --items 5  # a quick look

Figures (each one leads with a ratio; absolute numbers follow):
  1. Ingest throughput: articles/s of `newsstand fetch --all` (feeds + article pages, HTTP,
     extraction, SQLite) divided by the articles/s of its unavoidable parts alone on the same
     bytes, in-process and single-threaded, no HTTP, no database:
       baseline A = feedparser.parse(feed) + trafilatura.extract(page) with trafilatura's defaults;
       baseline B = feedparser.parse(feed) + our own extract_page(page) (tuned, slower: the fairer one).
  2. Feeds only (NEWSSTAND_FETCH_PAGES=false) against the `reader` library (make_reader,
     update_feeds(workers=N) with the same N as our --workers), same feeds, same server.
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

    @lru_cache(maxsize=4096)
    def feed_body(feed: int) -> bytes:
        return render_feed(feed, items, state["base"])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms delayed-ACK stalls

        def log_message(self, format, *args):
            pass

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

"""A local HTTP server that plays the publisher for the demo: it serves the demo site's
feeds and pages on 127.0.0.1, so the demo goes through the same poll → fetch → extract
path as the real web (conditional GET included)."""

from __future__ import annotations

import hashlib
import logging
import threading
from email.utils import format_datetime
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from newsstand.demo.corpus import load_corpus
from newsstand.demo.site import RENDERERS, demo_feeds, page_path, render_home, render_page

log = logging.getLogger(__name__)


class DemoSite:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    @cached_property
    def routes(self) -> dict[str, tuple[str, bytes, str]]:
        """path → (content type, body, Last-Modified), rendered once."""
        routes = {"/": ("text/html; charset=utf-8", render_home(self.base_url), "")}
        for feed in demo_feeds():
            body = RENDERERS[feed.media_type](feed, self.base_url)
            modified = format_datetime(feed.articles[-1].published, usegmt=True) if feed.articles else ""
            routes[feed.path] = (feed.media_type + "; charset=utf-8", body, modified)
        for article in load_corpus():
            routes[unquote(page_path(article))] = ("text/html; charset=utf-8", render_page(article, self.base_url),
                                                   format_datetime(article.published, usegmt=True))
        return routes


def make_handler(site: DemoSite):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            log.debug("demo server: " + format, *args)

        def do_GET(self):
            route = site.routes.get(unquote(self.path.split("?")[0]))
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content_type, body, modified = route
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            if modified:
                self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def start_demo_server(host: str = "127.0.0.1", port: int = 8001) -> ThreadingHTTPServer:
    """Starts serving in a daemon thread; returns the server (call .shutdown() to stop)."""
    site = DemoSite("")
    httpd = ThreadingHTTPServer((host, port), make_handler(site))
    httpd.daemon_threads = True
    site.base_url = f"http://{host}:{httpd.server_address[1]}"  # port 0 picks a free one
    site.routes  # render before the first request, not during it
    threading.Thread(target=httpd.serve_forever, name="demo-server", daemon=True).start()
    log.info("demo publisher serving %d pages on %s", len(site.routes), site.base_url)
    return httpd

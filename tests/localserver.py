"""A real HTTP server on 127.0.0.1 for tests: routes map a path to a canned response or to a
handler, and every request is logged so tests can assert what the client sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[SeenRequest], Response]


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[SeenRequest] = []
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # quiet test output
                pass

            def do_GET(self):
                seen = SeenRequest("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                server.requests.append(seen)
                handler = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                response = handler(seen) if handler else Response(404, b"not found")
                self.send_response(response.status)
                headers = {k.lower(): v for k, v in response.headers.items()}
                body = response.body
                if isinstance(body, bytes):
                    headers.setdefault("content-length", str(len(body)))
                    chunks: Iterable[bytes] = [body]
                else:
                    headers["connection"] = "close"
                    chunks = body
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if "connection" in headers:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, body: bytes | str = b"", status: int = 200,
              headers: dict[str, str] | None = None, content_type: str | None = None) -> str:
        """Serve a fixed response at `path`; returns the full URL."""
        data = body.encode() if isinstance(body, str) else body
        hdrs = dict(headers or {})
        if content_type:
            hdrs["Content-Type"] = content_type
        self.routes[path] = lambda _req: Response(status, data, hdrs)
        return self.url(path)

    def handle(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def hits(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def endless_body(chunk: bytes = b"x" * 65536) -> Iterable[bytes]:
    """A response body that never ends (for size-cap tests)."""
    while True:
        yield chunk


def stalled_body(first: bytes = b"<rss", stall_seconds: float = 30) -> Iterable[bytes]:
    """Sends a few bytes, then goes silent (for read-timeout tests)."""
    yield first
    time.sleep(stall_seconds)

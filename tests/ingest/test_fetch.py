"""fetch() against a real local HTTP server: caching headers, charsets, size caps, timeouts,
redirects, SSRF on redirect, HTTP errors. Limits are tiny so every case is fast."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from newsstand.ingest.fetch import (
    FetchConfig,
    FetchError,
    decode_text,
    fetch,
    host_of,
    parse_content_type,
    parse_max_age,
    parse_retry_after,
)
from tests.localserver import LocalServer, Response, endless_body, stalled_body

CAP = 100_000
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def _shared_server():
    server = LocalServer().start()
    server.httpd.handle_error = lambda *_: None  # we cut responses off on purpose; keep output clean
    yield server
    server.stop()


@pytest.fixture
def local_server(_shared_server):
    """One server for the module (stopping one waits out a 0.5 s poll), fresh routes per test."""
    _shared_server.routes.clear()
    _shared_server.requests.clear()
    return _shared_server


def config(**overrides) -> FetchConfig:
    values = dict(allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=CAP, connect_timeout=2,
                  read_timeout=0.5, total_timeout=5, max_redirects=3, user_agent="NewsstandTest/1")
    values.update(overrides)
    return FetchConfig(**values)


def fetch_error(url: str, **kwargs) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, config=kwargs.pop("config", config()), now=lambda: NOW, **kwargs)
    assert str(info.value) == info.value.message
    return info.value


def trickle(chunk: bytes = b"x", every: float = 0.05):
    """A body that keeps a connection busy without ever stalling long enough for a read timeout."""
    while True:
        yield chunk
        time.sleep(every)


# --- success and caching --------------------------------------------------------------------------

def test_ok_response_captures_caching_headers_and_sends_our_headers(local_server):
    url = local_server.route("/feed", "<rss/>", headers={
        "Content-Type": 'Application/RSS+XML; charset="UTF-8"', "ETag": '"v1"',
        "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT", "Cache-Control": "public, max-age=300"})

    got = fetch(url, config=config(), accept="application/rss+xml")

    assert (got.status, got.content, got.url, got.requested_url) == (200, b"<rss/>", url, url)
    assert (got.media_type, got.charset) == ("application/rss+xml", "utf-8")
    assert (got.etag, got.last_modified, got.max_age) == ('"v1"', "Wed, 01 May 2024 10:00:00 GMT", 300)
    assert got.permanent_redirect_url is None and not got.not_modified
    assert got.text() == "<rss/>"
    sent = local_server.hits("/feed")[0].headers
    assert sent["user-agent"] == "NewsstandTest/1"
    assert sent["accept"] == "application/rss+xml"
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_conditional_get_sends_validators_and_handles_304(local_server):
    def handler(req):
        if req.headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, b"fresh", {"ETag": '"v1"'})

    url = local_server.handle("/feed", handler)
    got = fetch(url, config=config(), etag='"v1"', last_modified="Wed, 01 May 2024 10:00:00 GMT")

    assert got.not_modified and got.status == 304 and got.content == b"" and got.etag == '"v1"'
    sent = local_server.hits("/feed")[0].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Wed, 01 May 2024 10:00:00 GMT"


def test_config_from_settings(settings):
    settings.NEWSSTAND_ALLOWED_FETCH_HOSTS = ["Feeds.Local", "127.0.0.1"]
    settings.NEWSSTAND_FETCH_MAX_BYTES = 1234
    settings.NEWSSTAND_FETCH_READ_TIMEOUT = 3
    settings.NEWSSTAND_FETCH_MAX_REDIRECTS = 2
    cfg = FetchConfig.from_settings()
    assert cfg.allowed_hosts == frozenset({"feeds.local", "127.0.0.1"})
    assert (cfg.max_bytes, cfg.read_timeout, cfg.max_redirects) == (1234, 3.0, 2)
    assert cfg.user_agent == settings.NEWSSTAND_USER_AGENT


# --- charsets ----------------------------------------------------------------------------------------

FRENCH = "“Les élèves” étaient déjà là – près du théâtre, à 5 €."
HTML_1252 = ('<html><head><meta charset="windows-1252"><title>t</title></head><body>'
             f"{FRENCH}</body></html>")


@pytest.mark.parametrize("content, declared, expected", [
    pytest.param("Café déjà vu".encode(), "utf-8", "Café déjà vu", id="utf-8 as declared"),
    pytest.param(FRENCH.encode("cp1252"), "utf-8", FRENCH, id="cp1252 bytes declared utf-8"),
    pytest.param("Café déjà vu, naïve façade".encode("latin-1"), "utf-8", "Café déjà vu, naïve façade",
                 id="latin-1 bytes declared utf-8"),
    pytest.param(FRENCH.encode("cp1252"), None, FRENCH, id="cp1252 undeclared"),
    pytest.param(FRENCH.encode("cp1252"), "iso-8859-1", FRENCH, id="latin-1 label read as windows-1252"),
    pytest.param(FRENCH.encode(), "iso-8859-1", FRENCH, id="utf-8 bytes under a latin-1 default"),
    pytest.param(HTML_1252.encode("cp1252"), None, HTML_1252, id="meta charset"),
    pytest.param(f'<?xml version="1.0" encoding="windows-1252"?><rss>{FRENCH}</rss>'.encode("cp1252"),
                 "bogus-charset", f'<?xml version="1.0" encoding="windows-1252"?><rss>{FRENCH}</rss>',
                 id="xml declaration, unknown header label"),
    pytest.param(("\ufeff" + FRENCH).encode("utf-16-le"), "iso-8859-1", FRENCH,
                 id="utf-16 BOM beats header"),
    pytest.param(b"\xef\xbb\xbf" + FRENCH.encode(), None, FRENCH, id="utf-8 BOM dropped"),
    pytest.param("Привет, мир".encode("koi8-r"), "koi8-r", "Привет, мир", id="declared koi8-r"),
    pytest.param(b"", None, "", id="empty"),
])
def test_decode_text(content, declared, expected):
    assert decode_text(content, declared) == expected


def test_decode_text_never_raises():
    assert isinstance(decode_text(bytes(range(256)) * 3, "utf-8"), str)
    assert isinstance(decode_text(b"\xff\xfe\x00", "no-such-codec"), str)


def test_fetched_text_uses_header_charset(local_server):
    url = local_server.route("/latin", FRENCH.encode("cp1252"), content_type="text/html; charset=utf-8")
    assert fetch(url, config=config()).text() == FRENCH


# --- size cap -------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, headers", [
    pytest.param(b"x" * (CAP + 1), {}, id="honest content-length"),
    pytest.param((b"x" * 10_000 for _ in range(20)), {}, id="no content-length"),
    pytest.param(endless_body(), {}, id="endless body"),
    pytest.param(endless_body(), {"Content-Length": str(10 * CAP)}, id="endless, huge content-length"),
])
def test_body_over_the_cap_is_refused_quickly(local_server, body, headers):
    url = local_server.handle("/big", lambda _req: Response(200, body, headers))
    started = time.monotonic()
    err = fetch_error(url)
    assert err.kind == "too_large"
    assert err.message == "The response is larger than the 100,000 bytes limit"
    assert time.monotonic() - started < 2


def test_a_lying_small_content_length_cannot_smuggle_more_bytes(local_server):
    url = local_server.handle("/lie", lambda _req: Response(200, endless_body(), {"Content-Length": "10"}))
    assert fetch(url, config=config()).content == b"x" * 10


def test_size_limit_is_stated_in_mib_when_round(local_server):
    url = local_server.handle("/big", lambda _req: Response(200, endless_body(),
                                                            {"Content-Length": str(3 * 1024 * 1024)}))
    err = fetch_error(url, config=config(max_bytes=2 * 1024 * 1024))
    assert err.message == "The response is larger than the 2 MiB limit"


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some old servers send
])
def test_compressed_bodies_are_decoded(local_server, encoding, compress):
    text = b"<rss>" + b"news " * 1000 + b"</rss>"
    url = local_server.route("/z", compress(text), headers={"Content-Encoding": encoding})
    assert fetch(url, config=config()).content == text


def test_gzip_bomb_is_stopped_at_the_cap(local_server):
    bomb = gzip.compress(b"\0" * 5_000_000, compresslevel=9)  # 50 x the cap
    assert len(bomb) < CAP  # small on the wire
    url = local_server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    started = time.monotonic()
    assert fetch_error(url).kind == "too_large"
    assert time.monotonic() - started < 2


def test_unrequested_compression_is_reported(local_server):
    url = local_server.route("/br", b"\x1b\x00", headers={"Content-Encoding": "br"})
    err = fetch_error(url)
    assert err.kind == "network" and "br" in err.message


# --- timeouts ---------------------------------------------------------------------------------------

def test_stalled_server_times_out_on_read(local_server):
    url = local_server.handle("/stall", lambda _req: Response(200, stalled_body(stall_seconds=5)))
    started = time.monotonic()
    err = fetch_error(url)
    assert (err.kind, err.message) == ("timeout", "The server did not answer within 0.5 seconds")
    assert time.monotonic() - started < 2


def test_trickling_server_is_cut_off_by_the_total_timeout(local_server):
    url = local_server.handle("/trickle", lambda _req: Response(200, trickle()))
    started = time.monotonic()
    err = fetch_error(url, config=config(total_timeout=1, max_bytes=10 * CAP))
    assert err.kind == "timeout"
    assert err.message == "The server took longer than 1 second to send the whole response"
    assert time.monotonic() - started < 2


def test_headers_trickled_forever_are_cut_off_by_the_total_timeout():
    """The deadline is enforced per socket read, so even a server that never finishes its
    headers (where no body loop could check the clock) is stopped."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            try:
                for i in range(200):
                    conn.sendall(b"X-Padding-%d: x\r\n" % i)
                    time.sleep(0.05)
            except OSError:
                pass

    threading.Thread(target=serve, daemon=True).start()
    started = time.monotonic()
    with listener:
        err = fetch_error(f"http://127.0.0.1:{listener.getsockname()[1]}/", config=config(total_timeout=1))
    assert err.kind == "timeout" and "1 second" in err.message
    assert time.monotonic() - started < 2


def test_connection_refused_is_a_network_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = fetch_error(f"http://127.0.0.1:{port}/")
    assert err.kind == "network" and err.message.startswith("Could not connect to 127.0.0.1")


# --- redirects --------------------------------------------------------------------------------------

def redirect(status: int, location: str):
    return lambda _req: Response(status, b"", {"Location": location})


@pytest.mark.parametrize("hops, permanent", [
    pytest.param([301], True, id="one 301"),
    pytest.param([301, 308, 301], True, id="301/308 chain"),
    pytest.param([301, 302], False, id="a 302 in the chain"),
    pytest.param([307], False, id="307"),
    pytest.param([303, 301], False, id="303 first"),
])
def test_redirect_chains(local_server, hops, permanent):
    for i, status in enumerate(hops):
        local_server.handle(f"/r{i}", redirect(status, f"/r{i + 1}"))  # relative Location
    final = local_server.route(f"/r{len(hops)}", "done")

    got = fetch(local_server.url("/r0"), config=config())

    assert (got.url, got.content, got.requested_url) == (final, b"done", local_server.url("/r0"))
    assert got.permanent_redirect_url == (final if permanent else None)


def test_absolute_redirect_is_followed(local_server):
    final = local_server.route("/new", "moved")
    url = local_server.handle("/old", redirect(301, final))
    assert fetch(url, config=config()).permanent_redirect_url == final


def test_redirect_loop_is_detected(local_server):
    local_server.handle("/a", redirect(302, "/b"))
    local_server.handle("/b", redirect(302, "/a"))
    err = fetch_error(local_server.url("/a"))
    assert err.kind == "redirects" and "loop" in err.message
    assert len(local_server.hits("/a")) == 1


def test_too_many_redirects(local_server):
    for i in range(10):
        local_server.handle(f"/r{i}", redirect(301, f"/r{i + 1}"))
    err = fetch_error(local_server.url("/r0"))
    assert (err.kind, err.message) == ("redirects", "Redirected more than 3 times (redirect loop?)")
    assert local_server.hits("/r4") == []


def test_redirect_without_location_is_an_http_error(local_server):
    url = local_server.handle("/nowhere", lambda _req: Response(302, b""))
    err = fetch_error(url)
    assert (err.kind, err.status) == ("http", 302)


# --- SSRF -------------------------------------------------------------------------------------------

def test_loopback_name_is_blocked(local_server):
    local_server.route("/feed", "secret")
    err = fetch_error(f"http://localhost:{local_server.port}/feed")
    assert err.kind == "blocked"
    assert err.message == ("Refused to fetch localhost: it resolves to 127.0.0.1, a loopback address "
                           "(add it to NEWSSTAND_ALLOWED_FETCH_HOSTS to allow it)")
    assert local_server.hits("/feed") == []


def test_redirect_to_a_blocked_host_is_refused(local_server):
    local_server.route("/admin", "secret")
    url = local_server.handle("/jump", redirect(302, f"http://localhost:{local_server.port}/admin"))
    err = fetch_error(url)
    assert err.kind == "blocked" and err.url == f"http://localhost:{local_server.port}/admin"
    assert local_server.hits("/admin") == []


def test_allow_list_is_needed_even_for_ip_literals_and_is_case_insensitive(local_server):
    url = local_server.route("/feed", "ok")
    assert fetch_error(url, config=config(allowed_hosts=frozenset())).kind == "blocked"
    named = f"http://LocalHost:{local_server.port}/feed"
    assert fetch(named, config=config(allowed_hosts=frozenset({"LOCALHOST"}))).content == b"ok"


def test_default_config_comes_from_settings(local_server, settings):
    url = local_server.route("/feed", "ok")
    assert fetch(url).content == b"ok"  # conftest allow-lists 127.0.0.1
    settings.NEWSSTAND_ALLOWED_FETCH_HOSTS = []
    with pytest.raises(FetchError, match="Refused to fetch 127.0.0.1: it is a loopback address"):
        fetch(url)


# --- bad URLs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "ftp://example.com/feed.xml", "file:///etc/passwd", "javascript:alert(1)", "example.com/feed",
    "not a url", "http://", "",
])
def test_only_http_urls_are_fetched(url):
    err = fetch_error(url)
    assert err.kind == "bad_url" and err.url == url


def test_redirect_to_another_scheme_is_refused(local_server):
    url = local_server.handle("/go", redirect(302, "file:///etc/passwd"))
    assert fetch_error(url).kind == "bad_url"


# --- HTTP errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, headers, message, retry_after", [
    (404, {}, "HTTP 404 Not Found: the address does not exist (any more)", None),
    (410, {}, "HTTP 410 Gone: the feed or page has been removed for good; stop fetching it", None),
    (500, {}, "HTTP 500 Internal Server Error: the server had an internal error (try again later)", None),
    (429, {"Retry-After": "120"},
     "HTTP 429 Too Many Requests: the server asks us to wait 120 seconds", 120.0),
    (429, {"Retry-After": format_datetime(NOW + timedelta(seconds=90), usegmt=True)},
     "HTTP 429 Too Many Requests: the server asks us to wait 90 seconds", 90.0),
    (429, {}, "HTTP 429 Too Many Requests: the server says we are fetching too often", None),
    (503, {"Retry-After": "30"},
     "HTTP 503 Service Unavailable: the server is temporarily unavailable and asks us to wait 30 seconds",
     30.0),
    (503, {}, "HTTP 503 Service Unavailable: the server is temporarily unavailable (try again later)", None),
    (418, {}, "HTTP 418 I'm a Teapot: the server rejected the request", None),
])
def test_http_errors(local_server, status, headers, message, retry_after):
    url = local_server.route("/e", "error page", status=status, headers=headers)
    err = fetch_error(url)
    assert (err.kind, err.status, err.message, err.retry_after, err.url) == (
        "http", status, message, retry_after, url)


# --- header parsing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("120", 120.0), (" 0 ", 0.0), ("-5", None), ("soon", None),
    ("Wed, 01 May 2024 12:02:00 GMT", 120.0),
    ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # in the past: retry now
])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("max-age=300", 300), ("public, MAX-AGE=60, must-revalidate", 60),
    ('max-age="90"', 90), ("no-store, max-age=300", None), ("max-age=-1", None), ("no-cache", None),
])
def test_parse_max_age(value, expected):
    assert parse_max_age(value) == expected


@pytest.mark.parametrize("value, expected", [
    (None, ("", None)), ("text/html", ("text/html", None)),
    ("Text/HTML; Charset='ISO-8859-1'", ("text/html", "iso-8859-1")),
])
def test_parse_content_type(value, expected):
    assert parse_content_type(value) == expected


def test_host_of():
    assert host_of("https://WWW.Example.com:8443/x") == "www.example.com"
    assert host_of("not a url") == ""

"""The HTTP fetcher used for feeds and pages.

One call, `fetch(url)`, returns the body and the caching facts the poller needs (ETag,
Last-Modified, max-age, permanent redirects) or raises FetchError with a plain-words message.
It is defensive because the other side is any server on the internet:

- every connection goes through the SSRF guard (netguard), and redirects are followed by hand so
  each hop is checked, counted, and loop-detected;
- the body is capped while streaming (after decompression, so a gzip bomb stops at the cap);
- a wall-clock deadline covers the whole fetch, so trickling servers cannot hold a worker.

Callers wanting per-publisher politeness wrap it: `with default_limiter().slot(url): fetch(url)`.
"""

from __future__ import annotations

import math
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from http import HTTPStatus
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from newsstand.ingest import netguard
from newsstand.ingest.charset import decode_text
from newsstand.ingest.netguard import FetchError

__all__ = [
    "FetchConfig", "FetchError", "Fetched", "decode_text", "fetch", "host_of",
    "parse_max_age", "parse_retry_after",
]

MIB = 1024 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True)
class FetchConfig:
    allowed_hosts: frozenset[str] = frozenset()  # names allowed to resolve to non-public addresses
    max_bytes: int = 10 * MIB
    connect_timeout: float = 10
    read_timeout: float = 20
    total_timeout: float = 60  # wall clock for the whole fetch, kills trickling servers
    max_redirects: int = 5
    user_agent: str = "Newsstand/0.1 (self-hosted news aggregator)"

    def __post_init__(self) -> None:
        # Accept any iterable and compare names case-insensitively; also keeps the config hashable.
        hosts = frozenset(netguard.normalize_host(h) for h in self.allowed_hosts if h.strip())
        object.__setattr__(self, "allowed_hosts", hosts)

    @classmethod
    def from_settings(cls) -> FetchConfig:
        from django.conf import settings

        return cls(
            allowed_hosts=frozenset(settings.NEWSSTAND_ALLOWED_FETCH_HOSTS),
            max_bytes=int(settings.NEWSSTAND_FETCH_MAX_BYTES),
            connect_timeout=float(settings.NEWSSTAND_FETCH_CONNECT_TIMEOUT),
            read_timeout=float(settings.NEWSSTAND_FETCH_READ_TIMEOUT),
            total_timeout=float(settings.NEWSSTAND_FETCH_TOTAL_TIMEOUT),
            max_redirects=int(settings.NEWSSTAND_FETCH_MAX_REDIRECTS),
            user_agent=str(settings.NEWSSTAND_USER_AGENT),
        )


@dataclass(frozen=True)
class Fetched:
    requested_url: str
    url: str                      # final URL after redirects
    status: int                   # any 2xx, or 304
    content: bytes                # b"" for 304
    media_type: str               # lowercased, no parameters, "" if absent
    charset: str | None           # from the Content-Type header
    etag: str | None
    last_modified: str | None
    max_age: int | None           # Cache-Control max-age; None if absent or no-store
    permanent_redirect_url: str | None  # final URL when every redirect hop was 301/308

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text(self) -> str:
        return decode_text(self.content, self.charset)


# --- the fetch ----------------------------------------------------------------------------------

def fetch(url: str, *, config: FetchConfig | None = None, etag: str | None = None,
          last_modified: str | None = None, accept: str = "*/*",
          now: Callable[[], datetime] | None = None) -> Fetched:
    """GET `url`, following up to `config.max_redirects` redirects, each one SSRF-checked."""
    config = config or FetchConfig.from_settings()
    now = now or (lambda: datetime.now(timezone.utc))
    client = _client(config.allowed_hosts, config.connect_timeout, config.read_timeout)
    headers = _request_headers(config, accept, etag, last_modified)
    current = _parse_url(url)
    seen = {current.copy_with(fragment=None)}
    all_permanent = True
    with netguard.deadline(time.monotonic() + config.total_timeout):
        for hop in range(config.max_redirects + 1):
            response, body = _exchange(client, current, headers, config)
            if response.status_code not in REDIRECTS:
                break
            if hop == config.max_redirects:
                raise FetchError("redirects", f"Redirected more than {config.max_redirects} times "
                                 "(redirect loop?)", url=str(current), status=response.status_code)
            all_permanent = all_permanent and response.status_code in PERMANENT_REDIRECTS
            current = _redirect_target(current, response)
            if current.copy_with(fragment=None) in seen:
                raise FetchError("redirects", f"The address redirects in a loop (back to {current})",
                                 url=url, status=response.status_code)
            seen.add(current.copy_with(fragment=None))
    status = response.status_code
    if not (200 <= status < 300 or status == 304):
        raise _http_error(response, str(current), now())
    media_type, charset = parse_content_type(response.headers.get("content-type"))
    redirected = len(seen) > 1
    return Fetched(
        requested_url=url,
        url=str(current),
        status=status,
        content=body if status != 304 else b"",
        media_type=media_type,
        charset=charset,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        max_age=parse_max_age(response.headers.get("cache-control")),
        permanent_redirect_url=str(current) if redirected and all_permanent else None,
    )


def _request_headers(config: FetchConfig, accept: str, etag: str | None,
                     last_modified: str | None) -> dict[str, str]:
    headers = {
        "User-Agent": config.user_agent,
        "Accept": accept,
        # Only what _Inflater can decode; the size cap applies to the decoded bytes.
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


@lru_cache(maxsize=16)
def _client(allowed_hosts: frozenset[str], connect: float, read: float) -> httpx.Client:
    """One pooled client per distinct (allow-list, timeouts), shared by all threads: connection
    reuse matters when a publisher serves many feeds and pages. Cookies are refused so that
    fetches stay independent of each other and nothing accumulates in a long-running worker."""
    return httpx.Client(
        transport=netguard.GuardedTransport(allowed_hosts),
        timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
        follow_redirects=False,
        trust_env=False,  # no proxies from the environment: they would bypass the SSRF guard
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


def _exchange(client: httpx.Client, url: httpx.URL, headers: dict[str, str],
              config: FetchConfig) -> tuple[httpx.Response, bytes]:
    """One request/response; the body is kept only for 2xx (nobody needs error pages)."""
    try:
        with client.stream("GET", url, headers=headers) as response:
            if 200 <= response.status_code < 300:
                return response, _read_body(response, config)
            _drain(response)
            return response, b""
    except FetchError as err:
        raise FetchError(err.kind, err.message, url=str(url), status=err.status,
                         retry_after=err.retry_after) from None
    except httpx.HTTPError as exc:
        raise _transport_error(exc, url, config) from None


def _drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read and drop a short 304/redirect/error body, so the connection goes back to the pool
    instead of being closed (a new TLS handshake for every unchanged feed otherwise)."""
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > limit:
                return  # a long error page is not worth reading; the connection is closed
    except httpx.HTTPError:
        pass  # the status is what matters; a broken error body changes nothing


def _parse_url(raw: str) -> httpx.URL:
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError("bad_url", f"This is not a valid web address: {raw!r}", url=str(raw)) from None
    if url.scheme not in ("http", "https"):
        what = f"a {url.scheme}: address" if url.scheme else "not a complete web address"
        raise FetchError("bad_url", f"Only http:// and https:// addresses can be fetched; {raw!r} "
                         f"is {what}", url=str(raw))
    if not url.host:
        raise FetchError("bad_url", f"The address {raw!r} has no server name", url=str(raw))
    return url


def _redirect_target(current: httpx.URL, response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location", "").strip()
    if not location:
        raise FetchError("http", f"HTTP {response.status_code}: the server redirected without "
                         "saying where to", url=str(current), status=response.status_code)
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError):
        raise FetchError("bad_url", f"The server redirected to an invalid address: {location!r}",
                         url=str(current)) from None
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchError("bad_url", f"The server redirected to {location!r}, which is not an "
                         "http:// or https:// address", url=str(current))
    return target


# --- the body -----------------------------------------------------------------------------------

def _read_body(response: httpx.Response, config: FetchConfig) -> bytes:
    limit = config.max_bytes
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:  # fail fast; the loop below is the real cap
        raise _too_large(config)
    inflater = _Inflater.for_encoding(response.headers.get("content-encoding", ""))
    chunks: list[bytes] = []
    size = 0
    for raw in response.iter_raw():
        # Ask for at most one byte past the cap: enough to know the cap was passed.
        data = inflater.feed(raw, limit - size + 1) if inflater else raw
        size += len(data)
        if size > limit:
            raise _too_large(config)
        chunks.append(data)
    if inflater:
        tail = inflater.flush()
        if size + len(tail) > limit:
            raise _too_large(config)
        chunks.append(tail)
    return b"".join(chunks)


class _Inflater:
    """gzip/deflate decoding with bounded output per call. We decode ourselves instead of letting
    httpx do it because httpx inflates each 64 KB network chunk in one go, which a bomb turns into
    ~64 MB of memory per worker before any cap can be checked."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 32)  # auto-detects a gzip or zlib header
        self._started = False

    @classmethod
    def for_encoding(cls, content_encoding: str) -> _Inflater | None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return None
        if codings in (["gzip"], ["x-gzip"], ["deflate"]):
            return cls()
        raise FetchError("network", f"The server compressed the response as {', '.join(codings)}, "
                         "which we did not ask for and cannot read")

    def feed(self, data: bytes, max_out: int) -> bytes:
        try:
            try:
                out = self._z.decompress(data, max_out)
            except zlib.error:
                if self._started:
                    raise
                # Some old servers send "deflate" as raw deflate without the zlib header.
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._z.decompress(data, max_out)
        except zlib.error:
            raise FetchError("network", "The server sent a damaged compressed response") from None
        self._started = self._started or bool(data)
        return out

    def flush(self) -> bytes:
        try:
            return self._z.flush()
        except zlib.error:
            raise FetchError("network", "The server sent a damaged compressed response") from None


def _size_words(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n:,} bytes"


def _too_large(config: FetchConfig) -> FetchError:
    limit = _size_words(config.max_bytes)
    return FetchError("too_large", f"The response is larger than the {limit} limit")


# --- errors ---------------------------------------------------------------------------------------

def _seconds_words(seconds: float) -> str:
    """ "1 second", "0.5 seconds", "91 seconds" (waits are rounded up, never down)."""
    n = seconds if seconds < 1 else math.ceil(seconds)
    return "1 second" if n == 1 else f"{n:g} seconds"


_EXPLANATIONS = {
    400: "the server rejected the request",
    401: "the server requires a login",
    403: "the server refuses access (it may block automated readers)",
    404: "the address does not exist (any more)",
    410: "the feed or page has been removed for good; stop fetching it",
    451: "the content is blocked for legal reasons",
    500: "the server had an internal error (try again later)",
    502: "a gateway in front of the server got a bad answer (try again later)",
    503: "the server is temporarily unavailable (try again later)",
    504: "a gateway in front of the server timed out (try again later)",
}


def _http_error(response: httpx.Response, url: str, now: datetime) -> FetchError:
    status = response.status_code
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = response.reason_phrase
    if status == 429:
        why = (f"the server asks us to wait {_seconds_words(retry_after)}" if retry_after is not None
               else "the server says we are fetching too often")
    elif status == 503 and retry_after is not None:
        why = f"the server is temporarily unavailable and asks us to wait {_seconds_words(retry_after)}"
    elif status in _EXPLANATIONS:
        why = _EXPLANATIONS[status]
    elif status < 400:
        why = "the server gave an answer we cannot use"
    elif status < 500:
        why = "the server rejected the request"
    else:
        why = "the server failed (try again later)"
    return FetchError("http", f"HTTP {status} {phrase}: {why}".replace("  ", " "), url=url,
                      status=status, retry_after=retry_after)


def _reason(exc: Exception) -> str:
    """The useful part of a low-level error message ("[Errno 111] Connection refused" -> "connection
    refused")."""
    text = re.sub(r"^\[(Errno -?\d+|SSL: \w+)\]\s*|\s*\(_ssl\.c:\d+\)$", "", str(exc).strip())
    text = text.strip() or type(exc).__name__
    return text[:1].lower() + text[1:]


def _transport_error(exc: httpx.HTTPError, url: httpx.URL, config: FetchConfig) -> FetchError:
    host = url.host
    if isinstance(exc, httpx.TimeoutException):
        if netguard.deadline_passed():
            message = (f"The server took longer than {_seconds_words(config.total_timeout)} to send the "
                       "whole response")
        elif isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            message = f"Could not connect to {host} within {_seconds_words(config.connect_timeout)}"
        else:
            message = f"The server did not answer within {_seconds_words(config.read_timeout)}"
        return FetchError("timeout", message, url=str(url))
    reason = _reason(exc)
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        message = f"The secure connection to {host} failed: its certificate is not valid ({reason})"
    elif isinstance(exc, httpx.ConnectError):
        message = f"Could not connect to {host} ({reason})"
    elif isinstance(exc, httpx.RemoteProtocolError):
        message = f"The server {host} sent a broken or incomplete response ({reason})"
    elif isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return FetchError("bad_url", f"This is not a valid web address: {url} ({reason})", url=str(url))
    else:
        message = f"The connection to {host} failed ({reason})"
    return FetchError("network", message, url=str(url))


# --- header parsing -------------------------------------------------------------------------------

def host_of(url: str | httpx.URL) -> str:
    """Lowercased host name of `url`, "" when it has none or cannot be parsed."""
    try:
        return httpx.URL(str(url)).host.lower()
    except (httpx.InvalidURL, ValueError):
        return ""


def parse_content_type(value: str | None) -> tuple[str, str | None]:
    """("application/rss+xml", "utf-8") from 'Application/RSS+XML; charset="UTF-8"'."""
    if not value:
        return "", None
    media_type, *params = value.split(";")
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset":
            charset = raw.strip().strip("'\"").lower() or None
    return media_type.strip().lower(), charset


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait, from delta-seconds ("120") or an HTTP-date; None if absent or unreadable.
    A date in the past means "now" (0)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def parse_max_age(cache_control: str | None) -> int | None:
    """max-age in seconds from a Cache-Control header; None if absent, invalid or no-store."""
    if not cache_control:
        return None
    max_age = None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name == "no-store":
            return None
        if name == "max-age":
            value = value.strip().strip('"')
            max_age = int(value) if value.isdigit() else None
    return max_age

"""SSRF guard for outgoing fetches.

Feed and page URLs come from users and from other people's servers (redirects, links), so a fetch
must never be a way to reach our own machine or network: a host that resolves to a private,
loopback, link-local, reserved, multicast, unspecified or shared address is refused unless its
name is allow-listed (NEWSSTAND_ALLOWED_FETCH_HOSTS; the demo and the tests need 127.0.0.1).

How it is airtight: the check lives in an httpcore *network backend*, the layer that opens TCP
connections. It resolves the name once, checks every address, then connects to exactly those
checked addresses (never resolving again). So there is no gap between "checked" and "connected"
for DNS rebinding to exploit, and every connection — including each redirect hop to a new host —
goes through the check. TLS is unaffected: httpcore still sends SNI and verifies the certificate
against the host name, not the IP address we dialled. Proxies are disabled on the client
(trust_env=False), because through a proxy the address we check is not the one that is reached.

The stream wrapper also enforces a wall-clock deadline (see `deadline()`), because per-read
timeouts alone cannot stop a server that trickles one byte at a time, headers included.

FetchError lives here (and is re-exported by fetch.py, which is where callers import it from) so
that this lower layer can raise it without an import cycle.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

FETCH_ERROR_KINDS = ("blocked", "timeout", "too_large", "redirects", "http", "network", "bad_url")


class FetchError(Exception):
    """A fetch that failed, with a `kind` for code and a `message` in plain words for people."""

    def __init__(self, kind: str, message: str, *, url: str = "", status: int | None = None,
                 retry_after: float | None = None) -> None:
        if kind not in FETCH_ERROR_KINDS:
            raise ValueError(f"unknown FetchError kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.url = url
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"FetchError({self.kind!r}, {self.message!r}, url={self.url!r}, status={self.status!r})"


# --- address classification -------------------------------------------------------------------

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; not routable on the internet
_NAT64 = ipaddress.ip_network("64:ff9b::/96")    # IPv6 wrappers around an IPv4 address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), which is what the
    packet really reaches, so ::ffff:127.0.0.1 is judged as 127.0.0.1."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def describe_address(ip: IPAddress) -> str:
    """What kind of non-public address this is, for error messages ("" if it is public)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            kind = describe_address(inner)
            return f"{kind} (IPv4 inside IPv6)" if kind else ""
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "shared (carrier-grade NAT)"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "non-public"),
    )
    return next((label for hit, label in checks if hit), "")


def is_public_address(ip: IPAddress) -> bool:
    """True when `ip` is an ordinary internet address that is safe to fetch from."""
    return describe_address(ip) == ""


# --- name resolution and the check -------------------------------------------------------------

def normalize_host(host: str) -> str:
    """Lowercase, no IPv6 brackets, no trailing dot: the form allow-list entries are compared in."""
    return host.strip().strip("[]").rstrip(".").lower()


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


# getaddrinfo has no timeout of its own (the system resolver may wait 5 s per server and try
# again), so lookups run on these threads and the caller waits only as long as it allows.
# A lookup that never returns holds one thread until the resolver gives up, not the fetch.
_resolver = ThreadPoolExecutor(max_workers=16, thread_name_prefix="dns")
DNS_TIMEOUT = 10.0


def resolve(host: str, timeout: float | None = DNS_TIMEOUT) -> list[str]:
    """All addresses `host` resolves to (an IP literal resolves to itself), in resolver order."""
    if _literal(host) is not None:
        return [host]
    lookup = _resolver.submit(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM)
    try:
        infos = lookup.result(timeout=timeout)
    except FutureTimeout:
        raise FetchError("timeout", f"Looking up the server {host} took longer than {timeout:g} s "
                                    "(DNS did not answer)") from None
    except (socket.gaierror, UnicodeError, OSError):
        raise FetchError("network", f"Could not find the server {host} (DNS lookup failed)") from None
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    if not addresses:
        raise FetchError("network", f"Could not find the server {host} (DNS lookup failed)")
    return addresses


def check_host(host: str, allowed_hosts: Iterable[str], timeout: float | None = DNS_TIMEOUT) -> list[str]:
    """Resolve `host` and return its addresses, or raise FetchError("blocked") if any of them is
    not public and the name is not allow-listed. Any bad address blocks the whole name, because an
    attacker controlling DNS could otherwise mix a public and a private answer."""
    name = normalize_host(host)
    addresses = resolve(name, timeout)
    if name in {normalize_host(h) for h in allowed_hosts}:
        return addresses
    for address in addresses:
        kind = describe_address(ipaddress.ip_address(address.split("%")[0]))
        if kind:
            where = "it is" if name == address else f"it resolves to {address},"
            article = "an" if kind[0] in "aeiou" else "a"
            raise FetchError(
                "blocked",
                f"Refused to fetch {name}: {where} {article} {kind} address "
                f"(add it to NEWSSTAND_ALLOWED_FETCH_HOSTS to allow it)",
            )
    return addresses


# --- wall-clock deadline -----------------------------------------------------------------------

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("fetch_deadline", default=None)


@contextmanager
def deadline(monotonic_time: float) -> Iterator[None]:
    """Within this block, no socket operation of this thread waits past `monotonic_time`, and
    once it has passed every read or write fails with a timeout."""
    token = _deadline.set(monotonic_time)
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline_passed() -> bool:
    end = _deadline.get()
    return end is not None and time.monotonic() >= end


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    """The per-operation timeout, shortened so it ends by the deadline; raises `error` if the
    deadline has already passed."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("The total time allowed for this fetch has run out")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


# --- the guarded backend and transport ---------------------------------------------------------

class GuardedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to checked addresses (see the module docstring)."""

    def __init__(self, allowed_hosts: Iterable[str]) -> None:
        self._allowed = frozenset(normalize_host(h) for h in allowed_hosts)
        self._plain = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        # The lookup counts against the connect timeout (and the fetch's deadline).
        lookup_timeout = _clamp(timeout, httpcore.ConnectTimeout)
        addresses = check_host(host, self._allowed, DNS_TIMEOUT if lookup_timeout is None else lookup_timeout)
        last_error: Exception | None = None
        for address in addresses:  # like create_connection: first address that answers wins
            try:
                stream = self._plain.connect_tcp(
                    address, port, timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address, socket_options=socket_options,
                )
                return _DeadlineStream(stream)
            except httpcore.ConnectError as exc:
                last_error = exc
        assert last_error is not None  # resolve() never returns an empty list
        raise last_error

    def sleep(self, seconds: float) -> None:
        self._plain.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, with its connection pool rebuilt on the guarded backend.

    httpx has no public switch for the network backend, so we replace `_pool` (checked below so
    an httpx upgrade that renames it fails loudly instead of silently dropping the guard).
    """

    def __init__(self, allowed_hosts: Iterable[str], limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # One TLS context for both pools (loading the CA bundle is the slow part of start-up).
        ssl_context = httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, limits=limits)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("this httpx version is not supported by the SSRF guard")
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allowed_hosts),
        )

"""Politeness towards publishers: at most N requests in flight and R requests per second per
domain, shared by every feed and page of that domain, plus "nobody touches this domain before T"
after a Retry-After.

The limiter lives in memory, so it is per process: when the worker is scaled out to several
processes (or machines), each one enforces its own limit, and a publisher may see up to
processes × limit. Keep the per-domain numbers modest when scaling out.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit


def domain_key(url_or_host: str) -> str:
    """The publisher-level key: lowercased host without "www." and port.

    "https://www.Example.com:8443/feed" and "example.com" share one key, because they are the
    same publisher's servers and should share one budget.
    """
    text = url_or_host.strip()
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname or ""
    except ValueError:  # e.g. a malformed IPv6 literal: still give it a stable key of its own
        host = text.lower()
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


@dataclass
class _Domain:
    """Mutable bookkeeping for one domain; only touched under the limiter's lock."""
    active: int = 0            # requests currently inside slot()
    next_start: float = 0.0    # earliest start time for the next request (rate limit)
    paused_until: float = 0.0  # nobody starts before this (Retry-After)


class DomainLimiter:
    """Per-domain concurrency and rate limits for one process; thread-safe."""

    def __init__(self, concurrency: int, rate: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if concurrency < 1:
            raise ValueError("Domain concurrency must be at least 1")
        if rate < 0:
            raise ValueError("Domain rate must be 0 (unlimited) or a positive number of "
                             "requests per second")
        self.concurrency = concurrency
        self.rate = rate
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        # Grows by one small record per domain ever fetched; bounded by the number of sources.
        self._domains: dict[str, _Domain] = {}

    @contextmanager
    def slot(self, url_or_host: str) -> Iterator[None]:
        """Block until this domain has a free concurrency slot and its rate allows another request."""
        key = domain_key(url_or_host)
        start = self._take_slot(key)
        try:
            self._wait_until(key, start)
            yield
        finally:
            self._release(key)

    def delay_until(self, host: str, monotonic_time: float) -> None:
        """Hold every new request to this domain until `monotonic_time` (e.g. after a Retry-After).
        Requests already waiting for their turn wait longer too; ones in flight are not touched."""
        with self._cond:
            domain = self._domain(domain_key(host))
            domain.paused_until = max(domain.paused_until, monotonic_time)

    def paused_for(self, url_or_host: str) -> float:
        """Seconds until this domain may be asked again after a Retry-After (0 if not paused),
        so callers can put the work off instead of holding a thread for an hour."""
        with self._cond:
            domain = self._domains.get(domain_key(url_or_host))
            return max(0.0, domain.paused_until - self._clock()) if domain else 0.0

    def _domain(self, key: str) -> _Domain:
        return self._domains.setdefault(key, _Domain())

    def _take_slot(self, key: str) -> float:
        """Wait for a concurrency slot, then book the next start time allowed by the rate.
        Booking under the lock (and sleeping outside it) spaces concurrent callers correctly."""
        with self._cond:
            domain = self._domain(key)
            while domain.active >= self.concurrency:
                self._cond.wait()
            domain.active += 1
            start = max(self._clock(), domain.next_start, domain.paused_until)
            domain.next_start = start + self._interval
            return start

    def _wait_until(self, key: str, start: float) -> None:
        # Loop because delay_until() may push the domain back while we sleep; then we rebook
        # after the pause so that waiters resume spaced out, not all at once.
        while True:
            with self._cond:
                domain = self._domains[key]
                if domain.paused_until > start:
                    start = max(domain.paused_until, domain.next_start)
                    domain.next_start = start + self._interval
            remaining = start - self._clock()
            if remaining <= 0:
                return
            self._sleep(remaining)

    def _release(self, key: str) -> None:
        with self._cond:
            self._domains[key].active -= 1
            self._cond.notify_all()


_default: tuple[tuple[int, float], DomainLimiter] | None = None
_default_lock = threading.Lock()


def default_limiter() -> DomainLimiter:
    """The process-wide limiter, built lazily from NEWSSTAND_DOMAIN_CONCURRENCY and
    NEWSSTAND_DOMAIN_RATE (rebuilt if those settings change, e.g. in tests)."""
    from django.conf import settings

    global _default
    wanted = (int(settings.NEWSSTAND_DOMAIN_CONCURRENCY), float(settings.NEWSSTAND_DOMAIN_RATE))
    with _default_lock:
        if _default is None or _default[0] != wanted:
            _default = (wanted, DomainLimiter(*wanted))
        return _default[1]

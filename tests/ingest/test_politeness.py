"""The per-domain limiter: rate spacing and Retry-After pauses with a fake clock, concurrency with
real threads."""

from __future__ import annotations

import threading

import pytest

from newsstand.ingest.politeness import DomainLimiter, default_limiter, domain_key


class FakeTime:
    """A clock whose sleep() just moves time forward, recording each sleep."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def limiter(fake: FakeTime, concurrency: int = 4, rate: float = 2.0) -> DomainLimiter:
    return DomainLimiter(concurrency, rate, clock=fake.clock, sleep=fake.sleep)


def start_times(lim: DomainLimiter, fake: FakeTime, targets: list[str]) -> list[float]:
    times = []
    for target in targets:
        with lim.slot(target):
            times.append(round(fake.now, 6))
    return times


@pytest.mark.parametrize("value, key", [
    ("https://www.Example.com:8443/feed.xml", "example.com"),
    ("http://example.com", "example.com"),
    ("WWW.example.com", "example.com"),
    ("example.com:8080", "example.com"),
    ("news.example.com", "news.example.com"),
    ("http://127.0.0.1:8000/rss", "127.0.0.1"),
    ("http://[::1]:8000/", "::1"),
    ("https://example.com./", "example.com"),
    ("wwwexample.com", "wwwexample.com"),
])
def test_domain_key(value, key):
    assert domain_key(value) == key


def test_requests_to_one_domain_are_spaced_by_the_rate():
    fake = FakeTime()
    lim = limiter(fake, rate=2.0)
    urls = ["https://example.com/a", "https://www.example.com/b", "example.com"]
    assert start_times(lim, fake, urls) == [100.0, 100.5, 101.0]
    assert fake.sleeps == [0.5, 0.5]


def test_domains_do_not_slow_each_other_down():
    fake = FakeTime()
    lim = limiter(fake, rate=1.0)
    assert start_times(lim, fake, ["a.example", "b.example", "c.example"]) == [100.0, 100.0, 100.0]
    assert fake.sleeps == []


def test_no_wait_once_the_interval_has_passed_anyway():
    fake = FakeTime()
    lim = limiter(fake, rate=2.0)
    with lim.slot("example.com"):
        fake.now += 3  # a slow request
    assert start_times(lim, fake, ["example.com"]) == [103.0]
    assert fake.sleeps == []


def test_rate_zero_is_unlimited():
    fake = FakeTime()
    lim = limiter(fake, rate=0)
    assert start_times(lim, fake, ["example.com"] * 5) == [100.0] * 5


def test_delay_until_holds_the_domain_then_resumes_spaced_out():
    fake = FakeTime()
    lim = limiter(fake, rate=2.0)
    lim.delay_until("https://www.example.com/feed", 130.0)  # e.g. Retry-After: 30
    assert start_times(lim, fake, ["example.com", "example.com"]) == [130.0, 130.5]
    assert start_times(lim, fake, ["other.example"]) == [130.5]


def test_delay_until_never_shortens_an_existing_pause():
    fake = FakeTime()
    lim = limiter(fake, rate=0)
    lim.delay_until("example.com", 150.0)
    lim.delay_until("example.com", 120.0)
    assert start_times(lim, fake, ["example.com"]) == [150.0]


def test_a_pause_set_while_waiting_is_honoured():
    fake = FakeTime()

    def sleep_and_meanwhile_get_rate_limited(seconds: float) -> None:
        if not fake.sleeps:  # another worker sees a 429 while we wait for our turn
            lim.delay_until("example.com", 160.0)
        fake.sleep(seconds)

    lim = DomainLimiter(4, 1.0, clock=fake.clock, sleep=sleep_and_meanwhile_get_rate_limited)
    assert start_times(lim, fake, ["example.com", "example.com"]) == [100.0, 160.0]


def test_concurrency_is_limited_per_domain_with_threads():
    lim = DomainLimiter(concurrency=2, rate=0)
    release = threading.Event()
    inside: list[str] = []
    peak = 0
    lock = threading.Lock()
    entered = threading.Semaphore(0)

    def worker(name: str, host: str) -> None:
        nonlocal peak
        with lim.slot(host):
            with lock:
                inside.append(name)
                peak = max(peak, sum(1 for n in inside if n.startswith("same")))
            entered.release()
            release.wait(5)
            with lock:
                inside.remove(name)

    threads = [threading.Thread(target=worker, args=(f"same{i}", "https://example.com/x"))
               for i in range(3)]
    threads.append(threading.Thread(target=worker, args=("other", "other.example")))
    for thread in threads:
        thread.start()
    for _ in range(3):  # two of the same domain plus the other domain get in at once
        assert entered.acquire(timeout=2)
    assert not entered.acquire(timeout=0.2)  # the third same-domain worker is held back
    with lock:
        assert "other" in inside and sum(1 for n in inside if n.startswith("same")) == 2
    release.set()
    assert entered.acquire(timeout=2)  # ...and gets in once a slot frees up
    for thread in threads:
        thread.join(2)
    assert peak == 2 and not inside


def test_slot_is_released_when_the_request_fails():
    lim = DomainLimiter(concurrency=1, rate=0)
    with pytest.raises(RuntimeError):
        with lim.slot("example.com"):
            raise RuntimeError("fetch failed")
    done = threading.Event()

    def next_request() -> None:
        with lim.slot("example.com"):
            done.set()

    threading.Thread(target=next_request, daemon=True).start()
    assert done.wait(2)


@pytest.mark.parametrize("concurrency, rate", [(0, 1.0), (1, -1.0)])
def test_bad_settings_are_explained(concurrency, rate):
    with pytest.raises(ValueError, match="Domain"):
        DomainLimiter(concurrency, rate)


def test_default_limiter_follows_settings(settings):
    settings.NEWSSTAND_DOMAIN_CONCURRENCY = 3
    settings.NEWSSTAND_DOMAIN_RATE = 0.5
    first = default_limiter()
    assert (first.concurrency, first.rate) == (3, 0.5)
    assert default_limiter() is first  # one per process
    settings.NEWSSTAND_DOMAIN_RATE = 0
    assert default_limiter() is not first and default_limiter().rate == 0

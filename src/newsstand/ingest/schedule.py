"""When to poll a feed next. Pure decisions: given the feed's state, what the poll found and
`now`, return the new state. No I/O, no clock, no settings (the caller passes a policy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median


@dataclass(frozen=True)
class PollPolicy:
    min_interval: int = 5 * 60
    max_interval: int = 24 * 3600
    default_interval: int = 30 * 60
    # Backoff after errors: interval * 2**(errors-1), capped at max_backoff.
    max_backoff: int = 24 * 3600

    @classmethod
    def from_settings(cls) -> PollPolicy:
        from django.conf import settings

        return cls(
            min_interval=settings.NEWSSTAND_POLL_MIN_INTERVAL,
            max_interval=settings.NEWSSTAND_POLL_MAX_INTERVAL,
            default_interval=settings.NEWSSTAND_POLL_DEFAULT_INTERVAL,
        )


@dataclass(frozen=True)
class FeedSchedule:
    poll_interval: int
    next_poll_at: datetime
    consecutive_errors: int
    enabled: bool = True
    disabled_reason: str = ""


def clamp(value: float, low: int, high: int) -> int:
    return int(max(low, min(high, value)))


def interval_from_posting_rate(entry_times: list[datetime], now: datetime, policy: PollPolicy) -> int:
    """Poll about twice per typical gap between posts: a feed posting hourly is polled every
    half hour, one posting weekly once a day (max). Only recent, non-future dates count, so
    one stale or far-future item cannot skew the rate."""
    recent = sorted(t for t in entry_times if now - timedelta(days=30) <= t <= now)
    if len(recent) < 2:
        return policy.default_interval
    gaps = [(b - a).total_seconds() for a, b in zip(recent, recent[1:]) if b > a]
    if not gaps:
        return policy.min_interval
    return clamp(median(gaps) / 2, policy.min_interval, policy.max_interval)


def after_success(
    now: datetime, policy: PollPolicy, *, entry_times: list[datetime] | None,
    previous_interval: int, max_age: int | None,
) -> FeedSchedule:
    """`entry_times` is None after a 304: the feed did not change, so its rate is unknown and
    the previous interval stands."""
    interval = previous_interval
    if entry_times is not None:
        interval = interval_from_posting_rate(entry_times, now, policy)
    # Cache-Control: max-age is the server saying "nothing new before then": polling sooner
    # only wastes both sides' bandwidth.
    if max_age:
        interval = max(interval, min(max_age, policy.max_interval))
    return FeedSchedule(interval, now + timedelta(seconds=interval), consecutive_errors=0)


def after_error(
    now: datetime, policy: PollPolicy, *, previous_interval: int, consecutive_errors: int,
    retry_after: float | None, status: int | None,
) -> FeedSchedule:
    errors = consecutive_errors + 1
    if status == 410:
        # 410 Gone is the publisher saying the feed will never come back.
        return FeedSchedule(previous_interval, now, errors, enabled=False,
                            disabled_reason="The server says this feed is gone for good (HTTP 410).")
    delay = min(previous_interval * 2 ** (errors - 1), policy.max_backoff)
    if retry_after is not None:
        # A server's Retry-After wins over our own backoff when it asks for longer.
        delay = max(delay, min(retry_after, 7 * 24 * 3600))
    return FeedSchedule(previous_interval, now + timedelta(seconds=delay), errors)


def clamp_published(published: datetime | None, now: datetime) -> datetime:
    """Items without a date get the time we first saw them; dates in the future (bad clocks,
    scheduled posts) are pulled back to now so they cannot pin themselves to the top."""
    if published is None or published > now:
        return now
    return published

"""The scheduling rules are pure: state + what the poll found + now → the next state."""

from datetime import datetime, timedelta, timezone

import pytest

from newsstand.ingest import schedule

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
POLICY = schedule.PollPolicy(min_interval=300, max_interval=86400, default_interval=1800, max_backoff=86400)


def hours_ago(*hours):
    return [NOW - timedelta(hours=h) for h in hours]


@pytest.mark.parametrize("times, expected", [
    ([], 1800),                                   # unknown rate → default
    (hours_ago(1), 1800),                         # one item says nothing about a rate
    (hours_ago(1, 2, 3, 4), 1800),                # hourly posts → every 30 min
    (hours_ago(*range(0, 240, 24)), 43200),       # daily posts → twice a day
    ([NOW - timedelta(minutes=m) for m in range(0, 20, 2)], 300),  # very busy → the floor
    (hours_ago(*range(0, 24 * 30, 24 * 7)), 86400),  # weekly → the ceiling
    (hours_ago(1, 2) + [NOW + timedelta(days=3)], 1800),  # a future date cannot skew it
])
def test_interval_follows_posting_rate(times, expected):
    assert schedule.interval_from_posting_rate(times, NOW, POLICY) == expected


def test_success_resets_errors_and_honours_max_age():
    plan = schedule.after_success(NOW, POLICY, entry_times=hours_ago(1, 2, 3), previous_interval=600, max_age=7200)
    assert plan.consecutive_errors == 0
    assert plan.poll_interval == 7200
    assert plan.next_poll_at == NOW + timedelta(seconds=7200)


def test_not_modified_keeps_the_interval():
    plan = schedule.after_success(NOW, POLICY, entry_times=None, previous_interval=900, max_age=None)
    assert plan.poll_interval == 900 and plan.next_poll_at == NOW + timedelta(seconds=900)


@pytest.mark.parametrize("errors_before, expected_delay", [(0, 1800), (1, 3600), (2, 7200), (10, 86400)])
def test_exponential_backoff(errors_before, expected_delay):
    plan = schedule.after_error(NOW, POLICY, previous_interval=1800, consecutive_errors=errors_before,
                                retry_after=None, status=500)
    assert plan.consecutive_errors == errors_before + 1
    assert plan.next_poll_at == NOW + timedelta(seconds=expected_delay)
    assert plan.enabled


def test_retry_after_wins_when_longer():
    plan = schedule.after_error(NOW, POLICY, previous_interval=600, consecutive_errors=0,
                                retry_after=5000, status=429)
    assert plan.next_poll_at == NOW + timedelta(seconds=5000)


def test_gone_disables_the_feed():
    plan = schedule.after_error(NOW, POLICY, previous_interval=600, consecutive_errors=0,
                                retry_after=None, status=410)
    assert not plan.enabled and "gone" in plan.disabled_reason


@pytest.mark.parametrize("published, expected", [
    (None, NOW), (NOW + timedelta(days=1), NOW), (NOW - timedelta(days=1), NOW - timedelta(days=1)),
])
def test_clamp_published(published, expected):
    assert schedule.clamp_published(published, NOW) == expected

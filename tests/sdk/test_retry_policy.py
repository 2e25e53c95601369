"""The numbers of retrying, exactly: which statuses, the backoff schedule (a seeded random source),
the waits a server asks for (Retry-After in seconds or as an HTTP date, X-RateLimit-Reset, an
error body's reset_time), the floors and caps, and the X-RateLimit-* numbers. Pure functions, no I/O.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from dynaspark_sdk import RateLimit, RetryPolicy
from dynaspark_sdk._retry import is_retryable_status, retry_after_seconds, seconds_until_reset_time

NOW = 1_750_000_000.0  # June 2025, a whole second


def http_date(seconds_from_now: float) -> str:
    """An HTTP date (RFC 9110 IMF-fixdate) `seconds_from_now` after NOW."""
    return format_datetime(datetime.fromtimestamp(NOW + seconds_from_now, UTC), usegmt=True)


# --------------------------------------------------------------------------- which statuses


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        (400, False),
        (404, False),
        (407, False),
        (408, True),
        (409, False),
        (428, False),
        (429, True),
        (430, False),
        (499, False),
        (500, True),
        (503, True),
        (599, True),
        (600, False),
        (200, False),
    ],
)
def test_which_statuses_are_retried(status: int, retried: bool) -> None:
    assert is_retryable_status(status) is retried


# --------------------------------------------------------------------------- the backoff schedule


def test_backoff_doubles_from_initial_delay_up_to_max_delay() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.0)
    assert [policy.backoff(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    other = RetryPolicy(initial_delay=0.3, max_delay=5.0, jitter=0.0)
    assert [other.backoff(n) for n in range(6)] == [0.3, 0.6, 1.2, 2.4, 4.8, 5.0]


def test_backoff_jitter_takes_the_drawn_share_off_the_wait() -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.25)
    draws = random.Random(7)
    expected = [min(8.0, 0.5 * 2**n) * (1 - 0.25 * draws.random()) for n in range(6)]
    rng = random.Random(7)
    assert [policy.backoff(n, rng) for n in range(6)] == pytest.approx(expected, rel=1e-12)
    # A draw near 1 takes nearly the whole jitter off; near 0, nothing.
    assert policy.backoff(3, FixedDraw(0.999999)) == pytest.approx(4.0 * 0.75, rel=1e-5)
    assert policy.backoff(3, FixedDraw(0.0)) == 4.0
    assert RetryPolicy(jitter=0.5, initial_delay=1.0).backoff(1, FixedDraw(0.5)) == 1.5


def test_backoff_without_a_random_source_stays_within_the_jitter() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0, jitter=0.25)
    waits = {policy.backoff(2) for _ in range(50)}
    assert all(3.0 <= wait <= 4.0 for wait in waits)
    assert len(waits) > 1  # drawn, not fixed


class FixedDraw(random.Random):
    """A random source whose every draw is `value`."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


# --------------------------------------------------------------------------- delay: floors and caps


def test_delay_counts_the_retries_left() -> None:
    policy = RetryPolicy(max_retries=2, initial_delay=0.5, jitter=0.0)
    assert policy.delay(0) == 0.5
    assert policy.delay(1) == 1.0
    assert policy.delay(2) is None
    assert policy.delay(3) is None
    assert RetryPolicy(max_retries=0).delay(0, requested=0.0) is None


def test_delay_honours_a_requested_wait_up_to_max_wait_inclusive() -> None:
    policy = RetryPolicy(max_wait=60.0, initial_delay=0.5, jitter=0.0)
    assert policy.delay(0, requested=0.3) == 0.3  # not rounded up to a floor
    assert policy.delay(0, requested=0.0) == 0.0
    assert policy.delay(1, requested=59.5) == 59.5  # the asked wait, not the backoff
    assert policy.delay(0, requested=60.0) == 60.0  # at the cap: still waited for
    assert policy.delay(0, requested=60.001) is None  # past it: not retried
    assert policy.delay(0, requested=-5.0) == 0.0  # never a negative sleep


def test_delay_passes_its_random_source_to_the_backoff() -> None:
    policy = RetryPolicy(jitter=0.25)
    assert policy.delay(1, rng=random.Random(3)) == policy.backoff(1, random.Random(3))
    assert policy.delay(1, rng=FixedDraw(0.5)) == 1.0 * (1 - 0.125)


# --------------------------------------------------------------------------- Retry-After and resets


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-5", 0.0),  # a negative wait is no wait
        (http_date(30), 30.0),
        (http_date(0), 0.0),
        (http_date(-3600), 0.0),  # a date already past
        (f"  {http_date(90)}  ", 90.0),
        ("Sun, 15 Jun 2025 17:07:10 +0200", 30.0),  # another zone
        ("Sunday, 15-Jun-25 15:07:40 GMT", 60.0),  # the obsolete RFC 850 form
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(value: str, expected: float) -> None:
    for status in (429, 503):
        assert retry_after_seconds({"retry-after": value}, now=NOW, status=status) == expected


@pytest.mark.parametrize(
    "value",
    [
        "soon",
        "",
        "nan",
        "inf",
        "-inf",
        "1e400",
        "5, 7",  # a repeated header, as httpx joins it
        "Wed, 21 Oct 2015 07:28:00 -0000",  # a date whose zone is unknown
        "Mon, 1 Jan 2000 25:00:00 GMT",  # no such hour
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",  # a year past any date
    ],
)
def test_an_unreadable_retry_after_names_no_wait(value: str) -> None:
    assert retry_after_seconds({"retry-after": value}, now=NOW, status=503) is None
    # A 429 then falls back to the reset time (absent here).
    assert retry_after_seconds({"retry-after": value}, now=NOW, status=429) is None
    # ...or present: the wait until it.
    reset = {"retry-after": value, "x-ratelimit-reset": str(int(NOW) + 12)}
    assert retry_after_seconds(reset, now=NOW, status=429) == 12.0


def test_a_429_without_retry_after_waits_until_the_reset() -> None:
    def wait(reset: str, status: int = 429) -> float | None:
        return retry_after_seconds({"x-ratelimit-reset": reset}, now=NOW, status=status)

    assert wait(str(int(NOW) + 30)) == 30.0
    assert wait(f" {NOW + 30.5} ") == 30.5
    assert wait(str(int(NOW) - 30)) == 0.0  # already reset
    for garbage in ("soon", "", "nan", "inf", "1e400", "-1e400"):
        assert wait(garbage) is None, garbage
    # Only a 429 means the reset: a 503's X-RateLimit-Reset says nothing about the outage.
    assert wait(str(int(NOW) + 30), status=503) is None
    # Retry-After wins over the reset.
    both = {"retry-after": "3", "x-ratelimit-reset": str(int(NOW) + 30)}
    assert retry_after_seconds(both, now=NOW, status=429) == 3.0
    assert retry_after_seconds({}, now=NOW, status=429) is None


def test_header_names_are_read_case_insensitively_from_httpx_headers() -> None:
    headers = httpx.Headers({"Retry-After": "4", "X-RateLimit-Reset": str(int(NOW) + 9)})
    assert retry_after_seconds(headers, now=NOW, status=429) == 4.0
    assert retry_after_seconds(httpx.Headers({"X-RATELIMIT-RESET": str(int(NOW) + 9)}), now=NOW, status=429) == 9.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOW + 30, 30.0),
        (int(NOW) + 30, 30.0),
        ((int(NOW) + 30) * 1000, 30.0),  # milliseconds
        (1e11 + 5, 0.0),  # past the millisecond line: 1e8 s after 1970, long past
        (f" {int(NOW) + 30} ", 30.0),
        ("2025-06-15T15:07:10+00:00", 30.0),
        ("2025-06-15T17:07:10+02:00", 30.0),
        ("2025-06-15T15:00:00+00:00", 0.0),  # already past
        (-1, None),
        (float("nan"), None),
        (float("inf"), None),
        (10**400, None),  # a JSON integer no float holds
        ("1e400", None),
        ([1, 2], None),
        (None, None),
        (False, None),
    ],
)
def test_seconds_until_an_error_bodys_reset_time(value: object, expected: float | None) -> None:
    assert seconds_until_reset_time(value, now=NOW) == expected


def test_reset_time_at_the_millisecond_line() -> None:
    # Up to 1e11 a number is seconds (year 5138); past it, milliseconds.
    assert seconds_until_reset_time(1e11, now=NOW) == 1e11 - NOW
    assert seconds_until_reset_time(1e11 + 0.5, now=NOW) == 0.0
    assert seconds_until_reset_time(1e11 + 1000, now=NOW) == 0.0
    assert seconds_until_reset_time(0, now=0.0) == 0.0
    assert seconds_until_reset_time(5, now=0.0) == 5.0
    assert seconds_until_reset_time("2025-06-15T15:07:10", now=NOW) == seconds_until_reset_time(
        "2025-06-15T15:07:10Z", now=NOW
    )  # no zone: UTC


# --------------------------------------------------------------------------- X-RateLimit-* numbers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100", 100),
        (" 100 ", 100),
        ("0", 0),
        ("99.9", 99),  # a fraction: its whole part
        (" 1.5e3 ", 1500),
        ("1e400", None),
        ("inf", None),
        ("-inf", None),
        ("nan", None),
        ("1" + "0" * 400, None),  # more digits than any time or count
        ("garbage", None),
        ("", None),
        ("5, 7", None),
    ],
)
def test_rate_limit_numbers_read_from_headers(value: str, expected: int | None) -> None:
    headers = httpx.Headers({"X-RateLimit-Limit": value, "X-RateLimit-Remaining": value, "X-RateLimit-Reset": value})
    limit = RateLimit.from_headers(headers)
    assert limit == RateLimit(limit=expected, remaining=expected, reset=expected)
    assert limit.known is (expected is not None)


def test_rate_limit_fields_are_read_each_from_its_own_header() -> None:
    limit = RateLimit.from_headers(
        httpx.Headers({"x-ratelimit-limit": "10", "X-RateLimit-Remaining": "3", "X-RATELIMIT-RESET": "1750000100"})
    )
    assert (limit.limit, limit.remaining, limit.reset) == (10, 3, 1_750_000_100)
    assert limit.to_dict() == {"limit": 10, "remaining": 3, "reset": 1_750_000_100}
    assert limit.seconds_until_reset(NOW) == 100.0
    assert limit.seconds_until_reset(NOW + 500) == 0.0  # already reset
    assert RateLimit.from_headers({}) == RateLimit()
    assert not RateLimit().known
    assert RateLimit().seconds_until_reset(NOW) is None
    for one in (RateLimit(limit=1), RateLimit(remaining=0), RateLimit(reset=0)):
        assert one.known, one


def test_a_reset_time_without_a_zone_is_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    for zone in ("Asia/Kolkata", "America/New_York"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        try:
            assert seconds_until_reset_time("2025-06-15T15:07:10", now=NOW) == 30.0
        finally:
            monkeypatch.undo()
            time.tzset()

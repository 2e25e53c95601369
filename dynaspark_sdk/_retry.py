"""When to retry, and how long to wait. Pure functions of what happened; no sleeping here."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["RETRYABLE_CLIENT_STATUSES", "RetryPolicy", "retry_after_seconds", "seconds_until_reset_time"]

#: The 4xx statuses worth another attempt: 408 request timeout and 429 rate limited. Every
#: 5xx is retried as well (`is_retryable_status`): Render's proxy answers 502/503 while the
#: free instance wakes.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})


def is_retryable_status(status: int) -> bool:
    """Whether an error status is worth another attempt."""
    return status in RETRYABLE_CLIENT_STATUSES or 500 <= status <= 599


def retry_after_seconds(headers: Mapping[str, str], *, now: float, status: int) -> float | None:
    """How long the service asked us to wait: Retry-After (seconds or HTTP date), else, for a
    429, the time until X-RateLimit-Reset. None when the answer does not say."""
    value = headers.get("retry-after")
    if value is not None:
        value = value.strip()
        seconds = _finite(value)
        if seconds is not None:
            return max(0.0, seconds)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    if status == 429:
        reset = _finite(headers.get("x-ratelimit-reset"))
        if reset is not None:
            return max(0.0, reset - now)
    return None


def _finite(value: str | None) -> float | None:
    """A header's number; None when absent or not a finite number ("nan", "inf" and "1e400"
    name no wait, and would make one of nothing or forever)."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def seconds_until_reset_time(value: object, *, now: float) -> float | None:
    """The wait until an error body's `reset_time` (None when it cannot be read).

    ASSUMED forms (the service's docs show the field, never its format): a Unix time in
    seconds, or in milliseconds (a JavaScript `Date.now()`, told apart by being past 10^11),
    as a number or a numeric string; or an ISO 8601 date (UTC unless it says otherwise).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                return None
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - now)
    else:
        try:
            number = float(value)
        except OverflowError:  # a JSON integer past what a float holds
            return None
    if not math.isfinite(number) or number < 0:
        return None
    if number > 1e11:
        number /= 1000.0
    return max(0.0, number - now)


@attrs.frozen
class RetryPolicy:
    """Capped exponential backoff with jitter.

    `max_retries` further attempts after the first; the n-th retry waits about
    `initial_delay * 2**n` (at most `max_delay`), less up to `jitter` of it at random. A wait
    the service asks for (Retry-After, X-RateLimit-Reset) is honoured when it is at most
    `max_wait`; a longer one is not waited for: the error is raised at once, saying the wait.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 60.0
    jitter: float = 0.25

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The wait before retry number `retry_number` (0-based) when the service named none."""
        base = min(self.max_delay, self.initial_delay * (2.0**retry_number))
        draw: float = rng.random() if rng is not None else random.random()
        spread = draw * self.jitter * base
        return base - spread

    def delay(
        self,
        retries_done: int,
        *,
        requested: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when no retry should be made.

        `requested` is what the service asked for; beyond `max_wait` it means no retry.
        """
        if retries_done >= self.max_retries:
            return None
        if requested is not None:
            if requested > self.max_wait:
                return None
            # Never earlier than asked, never much later.
            return max(requested, 0.0)
        return self.backoff(retries_done, rng)

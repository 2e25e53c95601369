"""What the gateway tells OpenAI clients about retrying and rate limits, in the headers of
every answer. No I/O.

openai-python and anthropic retry a 5xx up to twice on their own, unless the answer says
`x-should-retry: false`: the gateway's upstream client has already spent its retries, so one
failing call would otherwise cost the service (and the key's hourly quota) three times the
gateway's attempts. The service's `X-RateLimit-*` numbers go on in OpenAI's header names and
formats (`x-ratelimit-reset-requests` is a duration such as `6m0s`).
"""

from __future__ import annotations

import math

from dynaspark_sdk import RateLimit

__all__ = ["SHOULD_NOT_RETRY", "RateLimitHeaders", "openai_duration"]

#: On every 5xx answer of the gateway: its own retries are spent.
SHOULD_NOT_RETRY = (b"x-should-retry", b"false")


def openai_duration(seconds: float) -> str:
    """A number of seconds as OpenAI's rate-limit headers write it (Go's duration format).

    >>> openai_duration(360), openai_duration(59), openai_duration(3725), openai_duration(0.25)
    ('6m0s', '59s', '1h2m5s', '250ms')
    """
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class RateLimitHeaders:
    """The numbers of the service's last answer as OpenAI's `x-ratelimit-*-requests` headers
    (those it knows; none before the first answer), answer after answer: the limit's and the
    reset's headers are made again only when their numbers change, or for the reset (a
    duration from now, in whole seconds) the second; the remaining count's every time."""

    __slots__ = ("_key", "_limit", "_reset")

    def __init__(self) -> None:
        self._key: tuple[int | None, int | None, int] | None = None
        self._limit: tuple[bytes, bytes] | None = None
        self._reset: tuple[bytes, bytes] | None = None

    def __call__(self, limit: RateLimit, now: float) -> list[tuple[bytes, bytes]]:
        """The headers for `limit` at `now` (Unix time)."""
        key = (limit.limit, limit.reset, int(now))
        if key != self._key:
            self._key = key
            count, reset = limit.limit, limit.reset
            self._limit = None if count is None else (b"x-ratelimit-limit-requests", str(count).encode("ascii"))
            self._reset = (
                None if reset is None else (b"x-ratelimit-reset-requests", openai_duration(reset - now).encode("ascii"))
            )
        headers = [self._limit] if self._limit is not None else []
        if limit.remaining is not None:
            headers.append((b"x-ratelimit-remaining-requests", str(limit.remaining).encode("ascii")))
        if self._reset is not None:
            headers.append(self._reset)
        return headers

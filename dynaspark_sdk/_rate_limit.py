"""The `X-RateLimit-*` numbers the service puts on every answer."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["RateLimit"]


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        try:
            number = int(float(value.strip()))
        except (ValueError, OverflowError):  # garbage, "nan", "inf", "1e400"
            return None
    try:
        float(number)
    except OverflowError:  # more digits than a float holds: no time, and no count either
        return None
    return number


@attrs.frozen
class RateLimit:
    """The last rate-limit window seen: `limit` requests, `remaining` left, `reset` (Unix time).

    Each field is None when the answer did not carry (or garbled) its header.
    """

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        """Read the numbers from an answer's headers (case-insensitive mapping expected)."""
        return cls(
            limit=_header_int(headers, "x-ratelimit-limit"),
            remaining=_header_int(headers, "x-ratelimit-remaining"),
            reset=_header_int(headers, "x-ratelimit-reset"),
        )

    def to_dict(self) -> dict[str, int | None]:
        """The three numbers as a dict."""
        return {"limit": self.limit, "remaining": self.remaining, "reset": self.reset}

    @property
    def known(self) -> bool:
        """Whether the answer carried any of the three headers."""
        return self.limit is not None or self.remaining is not None or self.reset is not None

    def seconds_until_reset(self, now: float) -> float | None:
        """Seconds from `now` (Unix time) until the window resets; None when unknown."""
        if self.reset is None:
            return None
        return max(0.0, self.reset - now)

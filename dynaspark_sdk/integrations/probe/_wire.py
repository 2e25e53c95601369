"""Recording the probe's requests as they go out and their answers as they come off the wire,
within the budget; reading a recorded stream's events and quoting a body without the key."""

from __future__ import annotations

import re

import attrs
import httpx

from dynaspark_sdk.sse import SSEDecoder


class BudgetSpentError(Exception):
    """A request past the probe's budget was refused before it was sent."""


@attrs.define
class Exchange:
    """One request as sent and its answer as received (the whole body)."""

    method: str
    path: str
    status: int | None = None
    headers: httpx.Headers = attrs.field(factory=httpx.Headers)
    body: bytes = b""
    error: str | None = None
    secret: str | None = attrs.field(default=None, repr=False)

    @property
    def content_type(self) -> str:
        """The answer's media type, without parameters, lower-cased."""
        value: str = self.headers.get("content-type", "")
        return value.split(";")[0].strip().lower()


class Recorder:
    """httpx event hooks that count, cap and record every request, reading each answer whole
    (the SDK then reads it from memory, streams included)."""

    def __init__(self, budget: int, secret: str | None) -> None:
        self.budget = budget
        self._secret = secret
        self.exchanges: list[Exchange] = []

    def on_request(self, request: httpx.Request) -> None:
        if len(self.exchanges) >= self.budget:
            raise BudgetSpentError(f"the probe's budget of {self.budget} requests is spent")
        self.exchanges.append(Exchange(request.method, request.url.path, secret=self._secret))

    def on_response(self, response: httpx.Response) -> None:
        exchange = self.exchanges[-1]
        exchange.status, exchange.headers = response.status_code, response.headers
        try:
            exchange.body = response.read()
        except httpx.HTTPError as exc:
            exchange.status, exchange.error = None, error_text(exc)
            raise

    def failed(self, before: int, error: str) -> None:
        """Note why the request sent after `before` others got no answer."""
        if len(self.exchanges) > before and self.exchanges[-1].status is None:
            self.exchanges[-1].error = self.exchanges[-1].error or error


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def parse_events(body: bytes) -> list[str]:
    """The `data` of each server-sent event in a whole stream body, read by the SDK's own
    decoder (the WHATWG rules: a leading byte-order mark, CR/LF line ends, an event without
    the final blank line)."""
    decoder = SSEDecoder()
    return [event.data for event in (*decoder.feed(body), *decoder.flush())]


def snippet(exchange: Exchange) -> str:
    text = exchange.body[:400].decode("utf-8", errors="replace")
    # An answer may quote the request, key included: hide it before cutting the text short.
    text = _API_KEY_VALUE.sub(r"\1[REDACTED]", text)
    if exchange.secret:
        text = text.replace(exchange.secret, "[REDACTED]")
    text = " ".join(text.split())
    return (text if len(text) <= 120 else text[:117] + "...") or "(empty body)"


_API_KEY_VALUE = re.compile(r"(api_key(?:=|%3D|\"\s*:\s*\"))[^&\s\"]*", re.IGNORECASE)

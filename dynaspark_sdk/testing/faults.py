"""Faults the emulator can be told to commit, for testing how a client copes.

Queue them with `Emulator.inject`; each request consumes at most one fault (the oldest
queued one whose path matches), and a fault queued with `times=n` serves n requests::

    from dynaspark_sdk.testing import Emulator, faults

    emulator = Emulator()
    emulator.inject(faults.status(503), times=2)  # the next two requests get a 503
    emulator.inject(faults.cut_stream(after_events=1), path="/api/generate_response")

Two kinds exist. Faults that *replace* the answer (`status`, `html_page`, `bad_json`,
`missing_response`, `wrong_content_type`, `reset`) stand for something between the client
and the service's logic: the request is recorded but neither validated nor counted against
the rate limit. Faults that *alter* the real answer (`cut_stream`, `slow_first_byte`,
`slow_stream`) let the request be validated, counted and answered as usual, then change how
the answer is delivered.
"""

from __future__ import annotations

import abc
import http
from collections.abc import Callable, Mapping, Sequence

import attrs

from ._media import encode_png
from ._plan import BodyStep, Cut, Delay, ResponsePlan, SendBytes, bytes_plan, json_plan

__all__ = [
    "Fault",
    "bad_json",
    "cut_stream",
    "html_page",
    "missing_response",
    "reset",
    "slow_first_byte",
    "slow_stream",
    "status",
    "wrong_content_type",
]

Answer = Callable[[], ResponsePlan]
"""Produces the emulator's real answer (validating and counting the request)."""


class Fault(abc.ABC):
    """Something wrong to do with one request's answer. Build one with this module's functions."""

    @abc.abstractmethod
    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        """The plan to send instead of (or derived from) `answer()`.

        `service_headers` are the rate-limit headers the service would put on any answer,
        for faults that stand for an answer of the service itself.
        """


@attrs.frozen
class _StatusFault(Fault):
    code: int
    error: str
    headers: tuple[tuple[str, str], ...]

    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        return json_plan(self.code, {"error": self.error}, (*service_headers, *self.headers))


def status(
    code: int,
    *,
    error: str | None = None,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
) -> Fault:
    """Answer `code` with a JSON `{"error": ...}` body, plus any `headers` and a `Retry-After`.

    `error` defaults to the status's reason phrase; `retry_after` is sent as given
    (an integer stays an integer, e.g. `Retry-After: 3`).
    """
    extra = list((headers or {}).items())
    if retry_after is not None:
        seconds = int(retry_after) if float(retry_after).is_integer() else retry_after
        extra.append(("retry-after", str(seconds)))
    if error is None:
        try:
            error = http.HTTPStatus(code).phrase
        except ValueError:
            error = f"HTTP {code}"
    return _StatusFault(code=code, error=error, headers=tuple(extra))


_WAKING_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Service waking up</title></head>
<body>
<h1>Service waking up</h1>
<p>This service has been idle and is starting up again. This usually takes less than a minute.</p>
<p>Please refresh the page.</p>
</body>
</html>
"""


@attrs.frozen
class _HtmlFault(Fault):
    code: int

    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        # Render's proxy answers, not the service: no rate-limit headers.
        return bytes_plan(self.code, "text/html; charset=utf-8", _WAKING_PAGE.encode("utf-8"))


def html_page(status: int = 502) -> Fault:
    """Answer with an HTML page like Render's "Service waking up" (`text/html`); `status` may be 200."""
    return _HtmlFault(code=status)


@attrs.frozen
class _BodyFault(Fault):
    content_type: str
    body: bytes

    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        return bytes_plan(200, self.content_type, self.body, service_headers)


def bad_json() -> Fault:
    """Answer 200 `application/json` with a body that is not valid JSON (it breaks off)."""
    return _BodyFault(content_type="application/json", body=b'{"response": "Hello, wor')


def missing_response() -> Fault:
    """Answer 200 with a valid JSON object that lacks the `response` member."""
    return _BodyFault(content_type="application/json", body=b'{"message":"ok"}')


_TINY_PNG = encode_png(1, 1, [b"\x80\x80\x80"])


def wrong_content_type(content_type: str = "application/xml") -> Fault:
    """Answer 200 with a body of another type: XML by default, a PNG for `image/png`, else text."""
    if content_type.startswith("image/png"):
        body = _TINY_PNG
    elif "xml" in content_type:
        body = b'<?xml version="1.0"?><response>Hello</response>'
    else:
        body = b"Hello"
    return _BodyFault(content_type=content_type, body=body)


@attrs.frozen
class _ResetFault(Fault):
    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        return ResponsePlan(status=0, headers=(), reset_before_head=True)


def reset() -> Fault:
    """Reset the connection after reading the request, before any byte of an answer."""
    return _ResetFault()


@attrs.frozen
class _CutFault(Fault):
    after_events: int

    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        plan = answer()
        if plan.streaming:
            kept: list[BodyStep] = []
            sent = 0
            for step in plan.body:
                if sent >= self.after_events:
                    break
                kept.append(step)
                sent += isinstance(step, SendBytes)
            return attrs.evolve(plan, body=(*kept, Cut()))
        content = plan.content()
        return attrs.evolve(plan, body=(SendBytes(content[: len(content) // 2]), Cut()))


def cut_stream(after_events: int = 2) -> Fault:
    """Close the connection in the middle of the answer.

    For a stream: after `after_events` events (counting `data: [DONE]`), with no end of the
    chunked body. For any other answer: after the first half of the body, short of its
    Content-Length. Either way the client sees an incomplete body.
    """
    if after_events < 0:
        raise ValueError("after_events must be >= 0")
    return _CutFault(after_events=after_events)


@attrs.frozen
class _SlowFirstByteFault(Fault):
    seconds: float

    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        plan = answer()
        return attrs.evolve(plan, first_byte_delay=plan.first_byte_delay + self.seconds)


def slow_first_byte(seconds: float) -> Fault:
    """Wait `seconds` before the status line (a cold start, or a slow model)."""
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    return _SlowFirstByteFault(seconds=seconds)


@attrs.frozen
class _SlowStreamFault(Fault):
    gap_seconds: float

    def apply(self, answer: Answer, service_headers: Sequence[tuple[str, str]]) -> ResponsePlan:
        plan = answer()
        if plan.streaming:
            pieces = [step for step in plan.body if not isinstance(step, Delay)]
        else:
            content = plan.content()
            half = len(content) // 2
            pieces = [SendBytes(content[:half]), SendBytes(content[half:])]
        steps: list[BodyStep] = []
        for index, step in enumerate(pieces):
            if index:
                steps.append(Delay(self.gap_seconds))
            steps.append(step)
        return attrs.evolve(plan, body=tuple(steps))


def slow_stream(gap_seconds: float) -> Fault:
    """Wait `gap_seconds` between a stream's events (for any other answer: between its two halves)."""
    if gap_seconds < 0:
        raise ValueError("gap_seconds must be >= 0")
    return _SlowStreamFault(gap_seconds=gap_seconds)

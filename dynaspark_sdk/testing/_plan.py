"""Response plans: what the emulator wants sent, as data, for the shells to carry out.

The core never touches a socket. It answers every request with a `ResponsePlan`; the
in-process transports and the loopback server each interpret the same plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "BodyStep",
    "Cut",
    "Delay",
    "Reset",
    "ResponsePlan",
    "SendBytes",
    "bytes_plan",
    "event_stream_plan",
    "json_plan",
]

Headers = tuple[tuple[str, str], ...]


@attrs.frozen
class SendBytes:
    """Send these bytes of the body now (for a stream: one whole event, flushed at once)."""

    data: bytes


@attrs.frozen
class Delay:
    """Wait this many seconds before the next step."""

    seconds: float


@attrs.frozen
class Reset:
    """Reset the connection (a real TCP RST over sockets; `httpx.ReadError` in process)."""


@attrs.frozen
class Cut:
    """End the body abruptly: close the connection before the body is complete."""


BodyStep = SendBytes | Delay | Reset | Cut


@attrs.frozen
class ResponsePlan:
    """One answer: status, headers, then the body steps in order.

    `first_byte_delay` is slept before the status line; with `reset_before_head` the
    connection is reset instead of answering (status, headers and body are then unused).
    `streaming` marks an answer whose length is not known up front (sent chunked), where
    each `SendBytes` is one event.
    """

    status: int
    headers: Headers
    body: tuple[BodyStep, ...] = ()
    streaming: bool = False
    first_byte_delay: float = 0.0
    reset_before_head: bool = False

    def content(self) -> bytes:
        """All the bytes the body steps send, joined (what a client could receive at most)."""
        return b"".join(step.data for step in self.body if isinstance(step, SendBytes))

    def header(self, name: str) -> str | None:
        """The first header called `name` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def bytes_plan(
    status: int, content_type: str, body: bytes, extra_headers: Iterable[tuple[str, str]] = ()
) -> ResponsePlan:
    """A whole body of known length, sent in one step with a Content-Length."""
    headers = (
        ("content-type", content_type),
        ("content-length", str(len(body))),
        *extra_headers,
    )
    return ResponsePlan(status=status, headers=headers, body=(SendBytes(body),) if body else ())


def json_plan(status: int, payload: object, extra_headers: Iterable[tuple[str, str]] = ()) -> ResponsePlan:
    """A JSON answer (compact, UTF-8, keys in the order given)."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return bytes_plan(status, "application/json", body, extra_headers)


def event_stream_plan(
    events: Sequence[bytes], gap_seconds: float, extra_headers: Iterable[tuple[str, str]] = ()
) -> ResponsePlan:
    """A `text/event-stream` answer: one `SendBytes` per event, `gap_seconds` between events."""
    steps: list[BodyStep] = []
    for index, event in enumerate(events):
        if index and gap_seconds > 0:
            steps.append(Delay(gap_seconds))
        steps.append(SendBytes(event))
    headers = (
        ("content-type", "text/event-stream; charset=utf-8"),
        ("cache-control", "no-cache"),
        *extra_headers,
    )
    return ResponsePlan(status=200, headers=headers, body=tuple(steps), streaming=True)

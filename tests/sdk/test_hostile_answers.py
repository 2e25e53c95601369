"""Hostile answers: whatever a broken or hostile server sends back, a call ends in the SDK's own
typed error or a correct answer, never sleeps past its caps, and never retries more than
`max_retries` times.

Hypothesis writes the answers: any status; Retry-After and X-RateLimit-* values of every kind
(numbers, negative, huge, nan, 1e400, HTTP dates past and future, garbage, repeated headers);
bodies of every content type, JSON cut anywhere, error bodies with odd reset times; event
streams cut into pieces anywhere, with odd line endings, comments and fields, or broken off.
The flows are driven directly with a fixed clock, so nothing sleeps and an example takes
milliseconds.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from dynaspark_sdk import DynasparkError, RetryPolicy
from dynaspark_sdk._flow import (
    Answer,
    ClientState,
    Emit,
    Failure,
    FlowConfig,
    Opened,
    Read,
    Send,
    Sleep,
    StreamProgress,
    call_flow,
    stream_flow,
)
from dynaspark_sdk._operations.chat import ChatDraft
from dynaspark_sdk._operations.speech import speech_call
from dynaspark_sdk._operations.status import status_call
from dynaspark_sdk._operations.text import TextOptions, text_call
from dynaspark_sdk._results import AudioResult, ChatResponse, ServiceStatus, TextResponse
from dynaspark_sdk._settings import make_settings

NOW = 1_750_000_000.0
BASE = "https://dynaspark.test"
HOSTILE = settings(
    max_examples=150,
    deadline=None,  # the machine is shared: time is no measure here
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SETTINGS = make_settings(
    api_key=None,
    base_url=BASE,
    timeout=5.0,
    max_retries=None,
    default_headers=None,
    max_media_bytes=None,
    on_rate_limit="wait",
    environ={},
)


# --------------------------------------------------------------------------- what a server sends


def _http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


NUMBER_TEXTS = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.integers(int(NOW) - 10**6, int(NOW) + 10**6).map(str),  # reset times near now
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1" + "0" * 400, "1" * 5000]),
    st.sampled_from(["", " ", "soon", "0x10", "1_000", "+5", " 7 ", "5.", ".5", "1e3", "\u0665", "5 s"]),
)
DATES = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)).map(_http_date),
    st.integers(-(10**6), 10**6).map(lambda s: _http_date(datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=s))),
    st.sampled_from(
        [
            "Wed, 21 Oct 2015 07:28:00 -0000",
            "Mon, 1 Jan 2000 25:00:00 GMT",
            "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Mon, 32 Dec 2020 00:00:00 GMT",
        ]
    ),
)
GARBAGE = st.binary(max_size=30).filter(lambda b: b"\r" not in b and b"\n" not in b)
HEADER_VALUES = st.one_of(NUMBER_TEXTS.map(str.encode), DATES.map(str.encode), GARBAGE)
WAIT_HEADERS = ["retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "text/plain",
            "text/plain; charset=latin-1",
            "text/html",
            "text/html; charset=utf-8",
            "text/event-stream",
            "text/event-stream; charset=utf-8",
            "audio/mpeg",
            "image/png",
            "application/octet-stream",
            "multipart/form-data; boundary=x",
            "",
            ";",
            "application/json; charset=nonsense",
        ]
    ),
    st.text(max_size=20).map(lambda t: t.encode("ascii", "ignore").decode()),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
RESET_TIMES = st.one_of(
    JSON_VALUES, NUMBER_TEXTS, DATES, st.integers(), st.floats(), st.just(10**400), st.just(int(NOW) + 30)
)
ERROR_BODIES = st.one_of(
    st.builds(lambda text: {"error": text}, JSON_VALUES),
    st.builds(
        lambda code, message, reset: {"error": {"code": code, "message": message, "details": {"reset_time": reset}}},
        st.sampled_from(["rate_limit_exceeded", "invalid_api_key", "", "x"]) | st.text(max_size=10),
        JSON_VALUES,
        RESET_TIMES,
    ),
)
ANSWER_BODIES = st.one_of(
    st.builds(lambda text: {"response": text}, st.text(max_size=30)),
    st.builds(lambda text: {"response": text}, JSON_VALUES),
    st.builds(lambda status: {"status": status}, JSON_VALUES),
    st.dictionaries(st.sampled_from(["response", "error", "status", "model", "usage", "image_url"]), JSON_VALUES),
    ERROR_BODIES,
    JSON_VALUES,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "cut json", "bytes", "html", "sse", "empty"]))
    if kind in ("json", "cut json"):
        data = json.dumps(draw(ANSWER_BODIES)).encode()
        return data[: draw(st.integers(0, len(data)))] if kind == "cut json" else data
    if kind == "bytes":
        return draw(st.binary(max_size=80))
    if kind == "html":
        return b"<html><body>" + draw(st.text(max_size=30)).encode() + b"</body></html>"
    if kind == "sse":
        return draw(odd_sse())
    return b""


@st.composite
def odd_sse(draw: st.DrawFn) -> bytes:
    """An event stream that a server could send: any fields, data, comments, line endings."""
    lines = draw(
        st.lists(
            st.one_of(
                st.builds(lambda data: "data: " + json.dumps(data), ANSWER_BODIES),
                st.builds(lambda text: "data: " + json.dumps({"choices": [{"delta": {"content": text}}]}), st.text()),
                st.sampled_from(["data: [DONE]", "data:", ": keep-alive", "event: error", "id: 7", "retry: x", ""]),
                st.text(max_size=20),
            ),
            max_size=8,
        )
    )
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join(lines).encode() + draw(st.sampled_from([b"", b"\n", b"\n\n"]))


@st.composite
def headers(draw: st.DrawFn) -> httpx.Headers:
    pairs: list[tuple[bytes, bytes]] = []
    content_type = draw(CONTENT_TYPES)
    if content_type:
        pairs.append((b"content-type", content_type.encode()))
    for name in WAIT_HEADERS:
        # Absent, once, or repeated (httpx joins repeated headers with ", ").
        for value in draw(st.lists(HEADER_VALUES, max_size=2)):
            pairs.append((name.encode(), value))
    return httpx.Headers(pairs)


STATUSES = st.one_of(
    st.sampled_from([200, 200, 201, 204, 301, 400, 401, 403, 404, 405, 408, 418, 429, 429, 500, 502, 503, 599]),
    st.integers(100, 999),
)
ANSWERS = st.builds(Answer, STATUSES, headers(), bodies())
FAILURES = st.builds(Failure, st.sampled_from(["timeout", "connection", "fatal"]), st.just("broken"), st.booleans())
POLICIES = st.builds(
    RetryPolicy,
    max_retries=st.integers(0, 4),
    initial_delay=st.floats(0, 10),
    max_delay=st.floats(0, 30),
    max_wait=st.floats(0, 120),
    jitter=st.floats(0, 1),
)


# --------------------------------------------------------------------------- driving a flow


class Ran:
    """A flow driven with the answers given (the last one repeated while it asks for more)."""

    def __init__(self, flow: Generator[Any, Any, Any], replies: Sequence[Any]) -> None:
        self.actions: list[Any] = []
        self.result: Any = None
        self.error: BaseException | None = None
        queue = list(replies)
        reply: Any = None
        try:
            while True:
                action = flow.send(reply)
                self.actions.append(action)
                asks = isinstance(action, Send | Read)
                reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if asks else None
        except StopIteration as done:
            self.result = done.value
        except BaseException as raised:  # the property looks at it
            self.error = raised


def assert_bounded(actions: list[Any], error: BaseException | None, policy: RetryPolicy, *, switches: int = 0) -> None:
    """Typed error or result; waits finite, never negative, within the caps; retries counted."""
    note(f"actions: {actions!r}; error: {error!r}")
    if error is not None:
        assert isinstance(error, DynasparkError), repr(error)
    sleeps = [action.seconds for action in actions if isinstance(action, Sleep)]
    assert len(sleeps) <= policy.max_retries + 1  # + the wait for a used-up window
    for seconds in sleeps:
        assert math.isfinite(seconds) and seconds >= 0, seconds
        # A wait the server named is at most max_wait; the backoff at most max_delay.
        assert seconds <= max(policy.max_wait, policy.max_delay), (seconds, policy)
    assert sum(isinstance(action, Send) for action in actions) <= policy.max_retries + 1 + switches


def flow_config(policy: RetryPolicy, on_rate_limit: str = "wait", seed: int = 0) -> FlowConfig:
    return FlowConfig(
        retry=policy,
        on_rate_limit=on_rate_limit,  # type: ignore[arg-type]
        max_media_bytes=10_000,
        clock=lambda: NOW,
        base_url=BASE,
        rng=random.Random(seed),
    )


CALLS: dict[str, tuple[Callable[[], Any], type, int]] = {
    "status": (status_call, ServiceStatus, 0),
    "text": (lambda: text_call(SETTINGS, "hi", TextOptions(), stream=False), TextResponse, 0),
    "chat": (lambda: ChatDraft.check("hi", model=None, max_media_bytes=10, origin=BASE).call(None), ChatResponse, 1),
    "speech": (lambda: speech_call(SETTINGS, "hi", voice="alloy"), AudioResult, 0),
}


# --------------------------------------------------------------------------- the properties


@pytest.mark.slow
@HOSTILE
@given(
    call=st.sampled_from(sorted(CALLS)),
    policy=POLICIES,
    replies=st.lists(st.one_of(ANSWERS, ANSWERS, FAILURES), min_size=1, max_size=7),
    on_rate_limit=st.sampled_from(["wait", "raise"]),
)
def test_a_call_ends_typed_and_bounded(call: str, policy: RetryPolicy, replies: list[Any], on_rate_limit: str) -> None:
    make, result_type, switches = CALLS[call]
    config = flow_config(policy, on_rate_limit)
    state = ClientState()
    # Twice with one state: the second call meets the rate-limit numbers the first one saw.
    for _ in range(2):
        plan, parse = make()
        ran = Ran(call_flow(plan, parse, config, state), replies)
        assert_bounded(ran.actions, ran.error, policy, switches=switches)
        if ran.error is None:
            assert isinstance(ran.result, result_type)
        gate = ran.actions[0]
        if isinstance(gate, Sleep):
            assert gate.seconds <= policy.max_wait and on_rate_limit == "wait"


@pytest.mark.slow
@HOSTILE
@given(
    policy=POLICIES,
    opened=st.lists(st.builds(Opened, STATUSES, headers()) | FAILURES, min_size=1, max_size=4),
    body=bodies(),
    cuts=st.lists(st.integers(0, 200), max_size=5),
    ending=st.sampled_from([b"", b"", Failure("connection", "cut", True), Failure("timeout", "slow", True)]),
)
def test_a_stream_ends_typed_and_bounded(
    policy: RetryPolicy, opened: list[Any], body: bytes, cuts: list[int], ending: Any
) -> None:
    pieces: list[Any] = [body[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(body)], strict=True)]
    pieces = [piece for piece in pieces if piece] + [ending]
    plan, _ = text_call(SETTINGS, "hi", TextOptions(), stream=True)
    progress = StreamProgress()
    replies = iter(opened)
    last: list[Any] = [opened[0]]
    reads: list[Any] = []
    actions: list[Any] = []
    flow = stream_flow(plan, flow_config(policy), ClientState(), progress)
    error: BaseException | None = None
    reply: Any = None
    try:
        while True:
            action = flow.send(reply)
            actions.append(action)
            if isinstance(action, Send):
                last[0] = next(replies, last[0])
                reads = list(pieces)
                reply = last[0]
            elif isinstance(action, Read):
                reply = reads.pop(0) if reads else b""
            else:
                reply = None
    except StopIteration:
        pass
    except BaseException as raised:  # the property looks at it
        error = raised
    assert_bounded(actions, error, policy)
    emitted = "".join(action.text for action in actions if isinstance(action, Emit))
    assert emitted == progress.text
    partial = getattr(error, "partial_text", None)
    if partial is not None:
        assert emitted.startswith(partial) or partial.startswith(emitted)


@st.composite
def well_formed_streams(draw: st.DrawFn) -> tuple[list[str], list[bytes]]:
    """An OpenAI-style event stream of some texts, written in any of the forms SSE allows, and
    cut into pieces anywhere (inside a UTF-8 character too)."""
    texts = draw(st.lists(st.text(max_size=12), max_size=6))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines: list[str] = []
    for text in texts:
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from([": keep-alive", "event: message", "id: 42", "retry: 1000", ":"])))
        space = draw(st.sampled_from(["", " "]))
        lines += ["data:" + space + json.dumps({"choices": [{"delta": {"content": text}}]}), ""]
    lines += ["data: [DONE]", ""]
    data = (draw(st.sampled_from(["", "\ufeff"])) + ending.join(lines) + ending).encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=6)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return texts, [piece for piece in pieces if piece]


@HOSTILE
@given(stream=well_formed_streams())
def test_a_well_formed_stream_gives_exactly_its_text(stream: tuple[list[str], list[bytes]]) -> None:
    texts, pieces = stream
    plan, _ = text_call(SETTINGS, "hi", TextOptions(), stream=True)
    progress = StreamProgress()
    opened = Opened(200, httpx.Headers({"content-type": "text/event-stream"}))
    flow = stream_flow(plan, flow_config(RetryPolicy(max_retries=0)), ClientState(), progress)
    ran = Ran(flow, [opened, *pieces, b""])
    assert ran.error is None, ran.error
    assert progress.text == "".join(texts)
    assert [action.text for action in ran.actions if isinstance(action, Emit)] == [text for text in texts if text]


@HOSTILE
@given(text=st.text(max_size=40), cut=st.integers(0, 10_000), kind=st.sampled_from(["application/json", "text/plain"]))
def test_json_cut_anywhere_is_the_answer_or_a_typed_error(text: str, cut: int, kind: str) -> None:
    whole = json.dumps({"response": text}).encode()
    body = whole[: min(cut, len(whole))]
    plan, parse = CALLS["chat"][0]()
    ran = Ran(
        call_flow(plan, parse, flow_config(RetryPolicy(max_retries=0)), ClientState()),
        [Answer(200, httpx.Headers({"content-type": kind}), body)],
    )
    if body == whole:
        assert ran.error is None and ran.result.text == text
    else:
        assert isinstance(ran.error, DynasparkError), ran.error

"""The waits a call takes, exactly: the flows (no I/O) are driven with scripted answers and a
fixed clock, and every `Sleep(seconds)` they ask for is checked against the retry policy.

Pinned here: the backoff schedule (a seeded random source), Retry-After in seconds and as an
HTTP date, a malformed Retry-After, the X-RateLimit-Reset fallback of a 429, the cap
(`max_wait`, inclusive) and the floor (no negative sleep), the 5xx bounds, which path of the
moved chat endpoint a 5xx leaves remembered, `max_media_bytes` on an image given as a URL, and
the early RateLimitError of a used-up window.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from wire import PNG

from dynaspark_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    MediaError,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    StreamInterruptedError,
)
from dynaspark_sdk._flow import (
    Answer,
    ClientState,
    Discard,
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
from dynaspark_sdk._image_fetch import Resolve
from dynaspark_sdk._media import DEFAULT_MAX_BYTES, RemoteImage
from dynaspark_sdk._operations.chat import ChatDraft
from dynaspark_sdk._operations.status import status_call
from dynaspark_sdk._operations.text import TextOptions, text_call
from dynaspark_sdk._settings import make_settings

NOW = 1_750_000_000.0
BASE = "https://dynaspark.test"
NEW, OLD = "/dsai_fuck_u_spammer", "/generate_response"
#: No jitter: the n-th retry waits exactly initial_delay * 2**n (at most max_delay).
EXACT = RetryPolicy(max_retries=3, initial_delay=0.5, max_delay=8.0, max_wait=60.0, jitter=0.0)
OK_STATUS = Answer(200, {"content-type": "application/json"}, b'{"status": "ok"}')
SSE = {"content-type": "text/event-stream"}


def config(retry: RetryPolicy = EXACT, **kwargs: Any) -> FlowConfig:
    kwargs.setdefault("on_rate_limit", "wait")
    kwargs.setdefault("max_media_bytes", 10_000)
    return FlowConfig(retry=retry, clock=lambda: NOW, base_url=BASE, **kwargs)


def error(status: int, headers: dict[str, str] | None = None, body: bytes = b'{"error": "no"}') -> Answer:
    return Answer(status, {"content-type": "application/json", **(headers or {})}, body)


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + seconds_from_now, UTC), usegmt=True)


class Run:
    """A flow driven to its end: every action it asked for, and its result or error."""

    def __init__(self, flow: Generator[Any, Any, Any], outcomes: Sequence[Any], pieces: Sequence[bytes] = ()) -> None:
        self.actions: list[Any] = []
        self.result: Any = None
        self.error: Exception | None = None
        answers, reads = list(outcomes), list(pieces)
        reply: Any = None
        try:
            while True:
                action = flow.send(reply)
                self.actions.append(action)
                if isinstance(action, Send):
                    reply = answers.pop(0)
                elif isinstance(action, Read):
                    reply = reads.pop(0) if reads else b""
                else:
                    reply = None
        except StopIteration as done:
            self.result = done.value
        except Exception as raised:  # the test looks at it
            self.error = raised

    @property
    def sleeps(self) -> list[float]:
        return [action.seconds for action in self.actions if isinstance(action, Sleep)]

    @property
    def sends(self) -> list[Send]:
        return [action for action in self.actions if isinstance(action, Send)]

    @property
    def paths(self) -> list[str | None]:
        return [send.plan.path for send in self.sends]


def status_run(outcomes: Sequence[Any], flow_config: FlowConfig | None = None, state: ClientState | None = None) -> Run:
    plan, parse = status_call()
    return Run(call_flow(plan, parse, flow_config or config(), state or ClientState()), outcomes)


# --------------------------------------------------------------------------- the backoff schedule


def test_the_backoff_doubles_between_attempts() -> None:
    run = status_run([error(503)] * 4)
    assert run.sleeps == [0.5, 1.0, 2.0]
    assert len(run.sends) == 4
    assert isinstance(run.error, InternalServerError)


def test_the_backoff_stops_at_max_delay() -> None:
    policy = RetryPolicy(max_retries=5, initial_delay=1.0, max_delay=3.0, jitter=0.0)
    run = status_run([error(500)] * 5 + [OK_STATUS], config(policy))
    assert run.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert run.result.status == "ok"


def test_the_jittered_backoff_with_a_seeded_random_source() -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=0.5, max_delay=8.0, jitter=0.25)
    run = status_run([error(502)] * 3 + [OK_STATUS], config(policy, rng=random.Random(2024)))
    draws = random.Random(2024)
    assert run.sleeps == [base * (1 - 0.25 * draws.random()) for base in (0.5, 1.0, 2.0)]
    # The same seed, the same waits; another seed, others.
    again = status_run([error(502)] * 3 + [OK_STATUS], config(policy, rng=random.Random(2024)))
    other = status_run([error(502)] * 3 + [OK_STATUS], config(policy, rng=random.Random(7)))
    assert again.sleeps == run.sleeps != other.sleeps


def test_connection_failures_and_waking_pages_wait_the_backoff_too() -> None:
    html = Answer(200, {"content-type": "text/html"}, b"<html>waking up</html>")
    run = status_run([Failure("connection", "refused"), html, Failure("timeout", "slow"), OK_STATUS])
    assert run.sleeps == [0.5, 1.0, 2.0]
    assert run.result.status == "ok"
    spent = status_run([Failure("connection", "refused")] * 4)
    assert spent.sleeps == [0.5, 1.0, 2.0]
    assert isinstance(spent.error, APIConnectionError)
    # A failure that no retry can mend is raised at once.
    fatal = status_run([Failure("fatal", "bad URL")])
    assert (fatal.sleeps, type(fatal.error)) == ([], APIConnectionError)


def test_max_retries_counts_the_attempts() -> None:
    for retries in (0, 1, 3):
        run = status_run([error(503)] * (retries + 1), config(RetryPolicy(max_retries=retries, jitter=0.0)))
        assert len(run.sends) == retries + 1
        assert len(run.sleeps) == retries
        assert isinstance(run.error, InternalServerError)


# --------------------------------------------------------------------------- the waits a server asks for


@pytest.mark.parametrize("status", [429, 503, 408])
def test_retry_after_in_seconds_is_waited_exactly(status: int) -> None:
    run = status_run([error(status, {"retry-after": "7"}), error(status, {"retry-after": "0.25"}), OK_STATUS])
    assert run.sleeps == [7.0, 0.25]


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_as_an_http_date_is_waited_until(status: int) -> None:
    run = status_run([error(status, {"retry-after": http_date(30)}), OK_STATUS])
    assert run.sleeps == [30.0]
    past = status_run([error(status, {"retry-after": http_date(-600)}), OK_STATUS])
    assert past.sleeps == [0.0]


def test_a_malformed_retry_after_falls_back() -> None:
    # A 503: the backoff.
    assert status_run([error(503, {"retry-after": "soon"}), OK_STATUS]).sleeps == [0.5]
    # A 429: the window's reset, when it is given...
    reset = {"retry-after": "soon", "x-ratelimit-reset": str(int(NOW) + 12)}
    assert status_run([error(429, reset), OK_STATUS]).sleeps == [12.0]
    # ...else the backoff.
    assert status_run([error(429, {"retry-after": "nan"}), OK_STATUS]).sleeps == [0.5]


def test_a_429_without_retry_after_waits_for_the_reset() -> None:
    headers = {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 12)}
    state = ClientState()
    run = status_run([error(429, headers), OK_STATUS], state=state)
    assert run.sleeps == [12.0]
    assert run.result.status == "ok"


def test_a_requested_wait_is_taken_up_to_max_wait_inclusive() -> None:
    at_cap = status_run([error(429, {"retry-after": "60"}), OK_STATUS])
    assert at_cap.sleeps == [60.0]
    past_cap = status_run([error(429, {"retry-after": "60.5"}), OK_STATUS])
    assert past_cap.sleeps == []
    assert len(past_cap.sends) == 1
    assert isinstance(past_cap.error, RateLimitError)
    assert past_cap.error.retry_after == 60.5
    assert "max_wait=60 s" in str(past_cap.error)
    # A 503 asking too long a wait is not retried either.
    outage = status_run([error(503, {"retry-after": "3600"}), OK_STATUS])
    assert (outage.sleeps, len(outage.sends), type(outage.error)) == ([], 1, InternalServerError)


def test_a_body_reset_time_is_waited_for_exactly() -> None:
    body = b'{"error": {"code": "rate_limit_exceeded", "message": "slow", "details": {"reset_time": %d}}}' % (
        int(NOW) + 45
    )
    run = status_run([error(429, body=body), OK_STATUS])
    assert run.sleeps == [45.0]


def test_a_negative_wait_is_no_wait() -> None:
    run = status_run([error(429, {"retry-after": "-30"}), OK_STATUS])
    assert run.sleeps == [0.0]


# --------------------------------------------------------------------------- the 5xx bounds


@pytest.mark.parametrize(("status", "retried"), [(499, False), (500, True), (599, True), (600, False)])
def test_the_5xx_bounds(status: int, retried: bool) -> None:
    run = status_run([error(status), OK_STATUS])
    assert (run.sleeps == [0.5]) is retried
    assert isinstance(run.error, APIStatusError) is not retried
    assert isinstance(run.error, InternalServerError) is (not retried and status >= 500)


# --------------------------------------------------------------------------- the moved chat path


def chat_plan(image: RemoteImage | None = None) -> Any:
    return ChatDraft.check("hi", model=None, max_media_bytes=10_000, origin=BASE).call(image)


def chat_run(outcomes: Sequence[Any], state: ClientState, flow_config: FlowConfig | None = None) -> Run:
    plan, parse = chat_plan()
    return Run(call_flow(plan, parse, flow_config or config(), state), outcomes)


def test_a_5xx_after_the_switch_is_not_remembered_as_the_answering_path() -> None:
    state = ClientState()
    no_retry = config(RetryPolicy(max_retries=0))
    run = chat_run([error(404), error(500)], state, no_retry)
    assert run.paths == [NEW, OLD]
    assert isinstance(run.error, InternalServerError)
    # The next call starts at the newest path again: a 500 says nothing about where chat lives.
    again = chat_run([error(200, body=b'{"response": "hello"}')], state)
    assert again.paths == [NEW]
    # A 4xx other than 404/405 is the endpoint answering: remembered.
    state = ClientState()
    chat_run([error(404), error(400)], state, no_retry)
    assert chat_run([error(200, body=b'{"response": "hello"}')], state).paths == [OLD]


def test_a_pinned_chat_path_is_not_remembered_for_the_unpinned() -> None:
    state = ClientState()
    plan, parse = ChatDraft.check("hi", model=None, max_media_bytes=10, origin=BASE, chat_path=OLD).call(None)
    pinned = Run(call_flow(plan, parse, config(), state), [error(200, body=b'{"response": "old"}')])
    assert pinned.paths == [OLD]
    assert chat_run([error(200, body=b'{"response": "new"}')], state).paths == [NEW]


def test_a_chat_endpoint_found_nowhere_says_where_it_looked() -> None:
    run = chat_run([error(404), error(405)], ClientState())
    assert run.paths == [NEW, OLD]
    assert isinstance(run.error, APIStatusError) and run.error.status_code == 405
    assert str(run.error).endswith(f"(the chat endpoint was not found at any of its paths: {NEW}, {OLD})")


def test_a_5xx_at_the_remembered_path_keeps_it() -> None:
    state = ClientState()
    assert chat_run([error(404), error(200, body=b'{"response": "a"}')], state).paths == [NEW, OLD]
    run = chat_run([error(500), error(599), error(200, body=b'{"response": "b"}')], state)
    assert run.paths == [OLD, OLD, OLD]
    assert run.sleeps == [0.5, 1.0]
    assert run.result.text == "b"


# --------------------------------------------------------------------------- an image given as a URL


def test_max_media_bytes_caps_an_image_fetched_from_a_url() -> None:
    image = PNG + bytes(200)  # 276 bytes
    fetched = Answer(200, {"content-type": "image/png"}, image)

    def with_cap(cap: int) -> Run:
        plan, parse = chat_plan(RemoteImage("https://images.test/cat.png", None))
        return Run(
            call_flow(plan, parse, config(max_media_bytes=cap), ClientState()),
            [fetched, error(200, body=b'{"response": "a cat"}')],
        )

    too_small = with_cap(len(image) - 1)
    assert isinstance(too_small.error, MediaError)
    assert str(len(image) - 1) in str(too_small.error)
    assert len(too_small.sends) == 1  # only the fetch: nothing went to the service
    fits = with_cap(len(image))
    assert fits.result.text == "a cat"
    assert [send.plan.operation for send in fits.sends] == ["fetch", "chat"]


# --------------------------------------------------------------------------- a used-up window


def used_up(reset_in: float, limit: int = 10) -> ClientState:
    state = ClientState()
    state.observe(
        {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(NOW + reset_in)),
        }
    )
    return state


def test_a_used_up_window_raises_before_sending_when_told_to() -> None:
    run = status_run([OK_STATUS], config(on_rate_limit="raise"), used_up(30))
    assert run.sends == []
    assert isinstance(run.error, RateLimitError)
    assert run.error.status_code == 429
    assert run.error.retry_after == 30.0
    assert run.error.rate_limit == RateLimit(limit=10, remaining=0, reset=int(NOW) + 30)
    assert str(run.error) == "the rate limit is used up (10 requests); the window resets in 30 s"


def test_a_used_up_window_is_waited_for_up_to_max_wait_inclusive() -> None:
    state = used_up(60)
    run = status_run([OK_STATUS], config(), state)
    assert run.sleeps == [60.0]
    assert isinstance(run.actions[0], Sleep) and isinstance(run.actions[1], Send)
    assert run.result.status == "ok"
    # After waiting, the old window no longer counts as used up.
    assert state.rate_limit.remaining is None
    beyond = status_run([OK_STATUS], config(), used_up(61))
    assert (beyond.sends, beyond.sleeps, type(beyond.error)) == ([], [], RateLimitError)
    assert beyond.error.retry_after == 61.0  # type: ignore[union-attr]


def test_a_window_that_has_reset_is_no_wait() -> None:
    for reset_in in (0, -30):
        run = status_run([OK_STATUS], config(on_rate_limit="raise"), used_up(reset_in))
        assert (run.sleeps, len(run.sends), run.result.status) == ([], 1, "ok")


# --------------------------------------------------------------------------- streams


def stream_run(
    outcomes: Sequence[Any],
    pieces: Sequence[Any],
    flow_config: FlowConfig | None = None,
    state: ClientState | None = None,
) -> Run:
    settings = make_settings(
        api_key=None,
        base_url=BASE,
        timeout=5.0,
        max_retries=None,
        default_headers=None,
        max_media_bytes=None,
        on_rate_limit="wait",
        environ={},
    )
    plan, _ = text_call(settings, "hi", TextOptions(), stream=True)
    progress = StreamProgress()
    run = Run(stream_flow(plan, flow_config or config(), state or ClientState(), progress), outcomes, pieces)
    run.result = progress
    return run


def test_a_stream_waits_exactly_before_each_retry() -> None:
    done = b'data: {"choices": [{"delta": {"content": "hey"}}]}\n\ndata: [DONE]\n\n'
    run = stream_run(
        [Opened(503, {}), Opened(429, {"retry-after": "3"}), Failure("connection", "reset"), Opened(200, SSE)],
        [b"down", b"", b"slow", b"", done],
    )
    assert run.sleeps == [0.5, 3.0, 2.0]
    assert run.error is None
    assert run.result.text == "hey"
    assert [action.text for action in run.actions if isinstance(action, Emit)] == ["hey"]
    assert isinstance(run.actions[-1], Discard)


def test_a_stream_broken_before_any_text_waits_the_backoff() -> None:
    done = b'data: {"choices": [{"delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n'
    run = stream_run(
        [Opened(200, SSE), Opened(200, SSE)],
        [b": comment\n\n", Failure("connection", "cut"), done],
    )
    assert run.sleeps == [0.5]
    assert run.result.text == "ok"
    spent = stream_run([Opened(200, SSE)] * 4, [b": c\n\n", Failure("connection", "cut")] * 4)
    assert spent.sleeps == [0.5, 1.0, 2.0]
    assert isinstance(spent.error, StreamInterruptedError)


def test_a_stream_refuses_a_wait_past_max_wait() -> None:
    run = stream_run([Opened(429, {"retry-after": http_date(120)})], [b"slow", b""])
    assert run.sleeps == []
    assert isinstance(run.error, RateLimitError)
    assert run.error.retry_after == 120.0


def test_a_waking_page_in_a_stream_is_retried_after_the_backoff() -> None:
    done = b'data: {"choices": [{"delta": {"content": "up"}}]}\n\ndata: [DONE]\n\n'
    html = {"content-type": "text/html; charset=utf-8"}
    run = stream_run([Opened(200, html), Opened(200, SSE)], [b"<html>waking up</html>", b"", done])
    assert run.sleeps == [0.5]
    assert run.result.text == "up"
    never = stream_run([Opened(200, html)] * 4, [b"<html>waking up</html>", b""] * 4)
    assert never.sleeps == [0.5, 1.0, 2.0]
    assert isinstance(never.error, ResponseValidationError)


def test_a_stream_that_never_connects_waits_the_backoff_each_time() -> None:
    run = stream_run([Failure("connection", "refused")] * 4, [])
    assert run.sleeps == [0.5, 1.0, 2.0]
    assert len(run.sends) == 4
    assert str(run.error) == "connection failed: refused"
    jittered = RetryPolicy(max_retries=2, initial_delay=1.0, jitter=0.5)
    seeded = stream_run([Failure("connection", "refused")] * 3, [], config(jittered, rng=random.Random(11)))
    draws = random.Random(11)
    assert seeded.sleeps == [base * (1 - 0.5 * draws.random()) for base in (1.0, 2.0)]


def test_failures_say_what_failed() -> None:
    timed_out = status_run([Failure("timeout", "read took too long")], config(RetryPolicy(max_retries=0)))
    assert type(timed_out.error) is APITimeoutError
    assert str(timed_out.error) == "timed out: read took too long"
    refused = status_run([Failure("connection", "refused")], config(RetryPolicy(max_retries=0)))
    assert type(refused.error) is APIConnectionError
    assert str(refused.error) == "connection failed: refused"
    # A call's connection failures wait a seeded backoff too.
    jittered = RetryPolicy(max_retries=2, initial_delay=1.0, jitter=0.5)
    seeded = status_run([Failure("connection", "refused")] * 3, config(jittered, rng=random.Random(11)))
    draws = random.Random(11)
    assert seeded.sleeps == [base * (1 - 0.5 * draws.random()) for base in (1.0, 2.0)]


def test_a_streams_error_body_arriving_in_pieces_is_read_whole() -> None:
    run = stream_run([Opened(400, {"content-type": "application/json"})], [b'{"error": "bad ', b'prompt"}', b""])
    assert type(run.error) is BadRequestError
    assert run.error.error == "bad prompt"
    assert run.sleeps == []
    assert len(run.sends) == 1
    assert isinstance(run.actions[-1], Discard)


def test_a_stream_refuses_a_used_up_window_before_sending() -> None:
    run = stream_run([Opened(200, SSE)], [], config(on_rate_limit="raise"), used_up(30))
    assert run.sends == []
    assert isinstance(run.error, RateLimitError)
    assert run.error.retry_after == 30.0
    waited = stream_run([Opened(200, SSE)], [b"data: [DONE]\n\n"], config(), used_up(20))
    assert waited.sleeps == [20.0]
    assert waited.error is None


def test_a_stream_broken_off_says_how_far_it_got() -> None:
    first = b'data: {"choices": [{"delta": {"content": "Once"}}]}\n\n'
    run = stream_run([Opened(200, SSE)], [first, Failure("connection", "reset by peer", True)])
    assert isinstance(run.error, StreamInterruptedError)
    assert str(run.error) == "the stream broke off after 4 characters: reset by peer"
    assert run.error.partial_text == "Once"
    assert run.sleeps == []


def test_a_stream_that_is_not_what_it_says_fails_at_once() -> None:
    # Not a waking page: no retry can mend it, even before any text was emitted.
    run = stream_run([Opened(200, {"content-type": "application/json"})] * 2, [b"{not json", b""])
    assert isinstance(run.error, ResponseValidationError)
    assert run.sleeps == []
    assert len(run.sends) == 1


def test_a_stream_tells_the_model_its_events_name() -> None:
    chunk = b'data: {"model": "gpt-4o-mini", "choices": [{"delta": {"content": "hi"}}]}\n\ndata: [DONE]\n\n'
    run = stream_run([Opened(200, SSE)], [chunk])
    assert run.result.model == "gpt-4o-mini"
    assert run.result.status == 200


def public_fetch(cap: int, pieces: Sequence[bytes]) -> tuple[Any, Exception | None]:
    """A chat with an image URL fetched from public addresses only (`private_image_urls=False`):
    the name resolves to a public address, the image's body comes in `pieces`. (result, error)"""
    plan, parse = chat_plan(RemoteImage("https://images.example.com/cat.png", None))
    flow = call_flow(plan, parse, config(max_media_bytes=cap, private_image_urls=False), ClientState())
    replies: list[Any] = [Opened(200, {"content-type": "image/png"}), error(200, body=b'{"response": "a cat"}')]
    reads = list(pieces)
    reply: Any = None
    try:
        while True:
            action = flow.send(reply)
            if isinstance(action, Resolve):
                reply = ("93.184.216.34",)
            elif isinstance(action, Send):
                reply = replies.pop(0)
            elif isinstance(action, Read):
                reply = reads.pop(0) if reads else b""
            else:
                reply = None
    except StopIteration as done:
        return done.value, None
    except Exception as raised:  # the test looks at it
        return None, raised


def test_a_public_only_fetch_reads_one_byte_past_the_cap_to_refuse_it() -> None:
    image = PNG + bytes(20)  # 100 bytes
    result, failed = public_fetch(len(image), [image[:60], image[60:]])
    assert failed is None and result.text == "a cat"
    result, failed = public_fetch(len(image) - 1, [image[:99], image[99:]])
    assert isinstance(failed, MediaError)
    assert str(failed).endswith("is over the 99-byte limit")


def test_a_public_only_fetch_keeps_a_cap_above_the_default() -> None:
    image = PNG + bytes(DEFAULT_MAX_BYTES)  # past the default cap
    result, failed = public_fetch(len(image), [image])
    assert failed is None and result.text == "a cat"

"""Typed errors, retries and rate-limit handling, for both clients (respx on the wire)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PiecesThenFail, json_answer, openai_chunk, sse

from dynaspark_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DynasparkError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    StreamInterruptedError,
)

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
TEXT = f"{BASE_URL}/api/generate_response"
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (418, APIStatusError),
        (500, InternalServerError),
        (503, InternalServerError),
    ],
)
async def test_status_errors_are_typed(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, status: int, error_class: type[APIStatusError]
) -> None:
    mock.post(CHAT).mock(return_value=json_answer({"error": "the reason"}, status=status))
    # A 404 at the chat path makes the client try the previous one: the same answer there.
    mock.post(f"{BASE_URL}/generate_response").mock(return_value=json_answer({"error": "the reason"}, status=status))
    with pytest.raises(error_class) as caught:
        await make_dual(max_retries=0).call("chat", "hi")
    assert type(caught.value) is error_class
    assert caught.value.status_code == status
    assert caught.value.error == "the reason"
    assert "the reason" in str(caught.value)


async def test_html_page_and_broken_answers(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT)
    dual = make_dual(max_retries=0)
    route.mock(return_value=httpx.Response(502, html="<html><body>Service waking up</body></html>"))
    with pytest.raises(InternalServerError, match="HTML page"):
        await dual.call("chat", "hi")
    route.mock(return_value=httpx.Response(200, html="<html><body>Service waking up</body></html>"))
    with pytest.raises(ResponseValidationError, match="HTML page") as html:
        await dual.call("chat", "hi")
    assert "waking up" in html.value.body_excerpt
    route.mock(
        return_value=httpx.Response(200, content=b'{"response": "trunc', headers={"content-type": "application/json"})
    )
    with pytest.raises(ResponseValidationError, match="not valid JSON"):
        await dual.call("chat", "hi")
    route.mock(return_value=json_answer({"answer": "wrong key"}))
    with pytest.raises(ResponseValidationError, match="no 'response'"):
        await dual.call("chat", "hi")


@pytest.mark.parametrize(
    ("status", "page", "waking"),
    [
        (404, "<html><body><h1>Not Found</h1><p>nginx</p></body></html>", False),
        (501, "<html><title>Error response</title><p>Error code: 501 Unsupported method</p></html>", False),
        (500, "<html><body>Internal Server Error</body></html>", False),
        (502, "<html><body>Bad Gateway</body></html>", True),
        (503, "<html><body>Service Unavailable</body></html>", True),
        (404, "<html><body><h1>Service waking up</h1></body></html>", True),
    ],
)
async def test_only_a_wake_up_or_gateway_page_says_the_host_may_be_waking(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, status: int, page: str, waking: bool
) -> None:
    mock.get(TEXT).mock(return_value=httpx.Response(status, html=page))
    with pytest.raises(APIStatusError, match=f"^{status}: an HTML page instead of the service's answer") as caught:
        await make_dual(max_retries=0).call("generate_text", "hi")
    assert ("the host may be waking up" in str(caught.value)) is waking
    assert ("check base_url" in str(caught.value)) is not waking


async def test_5xx_is_retried_then_succeeds(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(
        side_effect=[
            httpx.Response(503, html="<html>waking</html>"),
            httpx.Response(200, html="<html>still waking</html>"),
            json_answer({"response": "awake"}),
        ]
    )
    answer = await make_dual(retry_policy=FAST).call("chat", "hi")
    assert answer.text == "awake"
    assert route.call_count == 3


async def test_retries_stop_at_max_retries(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"error": "boom"}, status=500))
    with pytest.raises(InternalServerError):
        await make_dual(retry_policy=FAST, max_retries=3).call("chat", "hi")
    assert route.call_count == 4


async def test_400_is_not_retried(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"error": "bad"}, status=400))
    with pytest.raises(BadRequestError):
        await make_dual(retry_policy=FAST).call("chat", "hi")
    assert route.call_count == 1


async def test_connection_errors_are_retried_and_typed(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(side_effect=[httpx.ConnectError("refused"), json_answer({"response": "ok"})])
    assert (await make_dual(retry_policy=FAST).call("chat", "hi")).text == "ok"
    assert route.call_count == 2
    route.mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(APIConnectionError, match="Connection refused") as caught:
        await make_dual(retry_policy=FAST).call("chat", "hi")
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.__cause__ is None  # no raw httpx exception reaches the user
    route.mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(APITimeoutError):
        await make_dual(retry_policy=FAST).call("chat", "hi")


async def test_429_honours_retry_after(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(
        side_effect=[
            json_answer({"error": "slow down"}, status=429, headers={"Retry-After": "0"}),
            json_answer({"response": "ok"}),
        ]
    )
    assert (await make_dual(retry_policy=FAST).call("chat", "hi")).text == "ok"
    assert route.call_count == 2


async def test_429_beyond_the_cap_raises_at_once_with_the_wait(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(
        return_value=json_answer(
            {"error": "hourly limit"}, status=429, headers={"Retry-After": "3000", "X-RateLimit-Remaining": "0"}
        )
    )
    with pytest.raises(RateLimitError) as caught:
        await make_dual(retry_policy=FAST).call("chat", "hi")
    assert route.call_count == 1
    assert caught.value.retry_after == 3000
    assert "3000 s" in str(caught.value)
    assert caught.value.rate_limit.remaining == 0


async def test_used_up_window_is_not_burned(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    far = str(2_000_000_000)
    route = mock.post(CHAT).mock(
        return_value=json_answer(
            {"response": "last one"},
            headers={"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": far},
        )
    )
    dual = make_dual(retry_policy=FAST, on_rate_limit="raise")
    assert (await dual.call("chat", "hi")).text == "last one"
    with pytest.raises(RateLimitError, match="used up"):
        await dual.call("chat", "again")
    assert route.call_count == 1


async def test_stream_cut_midway_raises_with_the_partial_text(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    body = PiecesThenFail([sse(openai_chunk("Once ")), sse(openai_chunk("upon"))])
    route = mock.get(TEXT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    dual = make_dual(retry_policy=FAST)
    stream = dual.client.stream_text("story")
    received: list[str] = []

    with pytest.raises(StreamInterruptedError) as caught:
        await dual.read_into(stream, received)
    assert received == ["Once ", "upon"]
    assert caught.value.partial_text == "Once upon"
    assert route.call_count == 1  # never retried once text reached the caller


async def test_stream_failing_before_any_text_is_retried(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    good = sse(openai_chunk("fine"), "[DONE]")
    route = mock.get(TEXT).mock(
        side_effect=[
            httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=PiecesThenFail([b": hi\n\n"])),
            httpx.Response(200, headers={"content-type": "text/event-stream"}, content=good),
        ]
    )
    dual = make_dual(retry_policy=FAST)
    assert await dual.collect(dual.client.stream_text("x")) == ["fine"]
    assert route.call_count == 2


async def test_stream_without_done_is_not_silently_short(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    body = sse(openai_chunk("half"))
    mock.get(TEXT).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))
    dual = make_dual(retry_policy=FAST)
    with pytest.raises(StreamInterruptedError) as caught:
        await dual.collect(dual.client.stream_text("x"))
    assert caught.value.partial_text == "half"


async def test_stream_error_event_becomes_a_typed_error(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    body = sse(openai_chunk("partial "), '{"error": "model overloaded"}')
    mock.get(TEXT).mock(return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))
    dual = make_dual(retry_policy=FAST)
    with pytest.raises(StreamInterruptedError, match="model overloaded") as caught:
        await dual.collect(dual.client.stream_text("x"))
    assert caught.value.partial_text == "partial "


async def test_every_error_is_a_dynaspark_error_and_key_free(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-live-SECRET-4242"
    mock.get(TEXT).mock(return_value=json_answer({"error": f"bad key {secret}"}, status=401))
    dual = make_dual(api_key=secret, retry_policy=FAST)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DynasparkError) as caught:
        await dual.call("generate_text", "hi")
    texts = [str(caught.value), repr(caught.value), repr(dual.client), caplog.text, str(caught.value.__dict__)]
    for text in texts:
        assert secret not in text
    assert "HTTP Request" in caplog.text  # httpx did log the request, redacted
    assert "api_key=[REDACTED]" in caplog.text

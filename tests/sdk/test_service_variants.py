"""What the service's own docs and client say it may send, though never seen on the wire: a
text/plain text answer, the nested error body with `reset_time`, and a 2xx JSON holding "error"."""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PiecesThenFail, json_answer

from dynaspark_sdk import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    RateLimitError,
    RetryPolicy,
)
from dynaspark_sdk._flow import Answer, ClientState, FlowConfig, Send, Sleep, call_flow
from dynaspark_sdk._operations.status import status_call
from dynaspark_sdk._retry import seconds_until_reset_time

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
TEXT = f"{BASE_URL}/api/generate_response"
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=60)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def nested(code: str, message: str, reset_time: object = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code, "message": message}
    if reset_time is not None:
        error["details"] = {"reset_time": reset_time}
    return {"error": error}


# --------------------------------------------------------------------------- text/plain


async def test_a_text_plain_answer_is_the_text(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    mock.get(TEXT).mock(return_value=httpx.Response(200, content=b"Paris.\n", headers={"content-type": "text/plain"}))
    result = await make_dual().call("generate_text", "Capital of France?", model="openai")
    assert result.text == "Paris.\n"
    assert result.model == "openai"  # the answer names none: the one asked for
    assert result.usage is None


async def test_a_text_plain_answer_honours_its_charset(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    mock.get(TEXT).mock(
        return_value=httpx.Response(200, content=b"caf\xe9", headers={"content-type": "text/plain; charset=ISO-8859-1"})
    )
    result = await make_dual().call("generate_text", "Coffee?")
    assert result.text == "café"
    assert result.model == "openai"  # none asked, none named: the default the spec assumes


# utf-16 and utf-32 without a byte order mark are big-endian (RFC 2781 4.3, Unicode 3.10);
# with one, the mark gives the order and is not part of the text.
UNMARKED_OR_MARKED = [
    pytest.param("utf-16", "caf\u00e9 \U0001f600".encode("utf-16-be"), id="utf-16"),
    pytest.param("UTF16", "caf\u00e9 \U0001f600".encode("utf-16-be"), id="UTF16"),
    pytest.param("utf-32", "caf\u00e9 \U0001f600".encode("utf-32-be"), id="utf-32"),
    pytest.param("utf-16", "caf\u00e9 \U0001f600".encode("utf-16"), id="utf-16-this-machine-marked"),
    pytest.param("utf-16", codecs.BOM_UTF16_LE + "caf\u00e9 \U0001f600".encode("utf-16-le"), id="utf-16-le-marked"),
    pytest.param("utf-32", codecs.BOM_UTF32_BE + "caf\u00e9 \U0001f600".encode("utf-32-be"), id="utf-32-be-marked"),
    pytest.param("utf-32", codecs.BOM_UTF32_LE + "caf\u00e9 \U0001f600".encode("utf-32-le"), id="utf-32-le-marked"),
]


@pytest.mark.parametrize(("charset", "body"), UNMARKED_OR_MARKED)
async def test_a_utf16_or_utf32_text_plain_answer_is_read_with_or_without_a_byte_order_mark(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, charset: str, body: bytes
) -> None:
    headers = {"content-type": f"text/plain; charset={charset}"}
    mock.get(TEXT).mock(return_value=httpx.Response(200, content=body, headers=headers))
    assert (await make_dual().call("generate_text", "Coffee?")).text == "caf\u00e9 \U0001f600"


@pytest.mark.parametrize(("charset", "body"), UNMARKED_OR_MARKED)
async def test_a_utf16_or_utf32_text_plain_stream_is_read_a_byte_at_a_time(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, charset: str, body: bytes
) -> None:
    # One byte per piece: the mark, and each character, arrive split.
    one_byte_pieces = PiecesThenFail([body[i : i + 1] for i in range(len(body))], fail=False)
    headers = {"content-type": f"text/plain; charset={charset}"}
    mock.get(TEXT).mock(return_value=httpx.Response(200, headers=headers, stream=one_byte_pieces))
    dual = make_dual()
    assert "".join(await dual.collect(dual.client.stream_text("Coffee?"))) == "caf\u00e9 \U0001f600"


async def test_a_utf16_text_plain_answer_cut_mid_character_ends_in_a_replacement_character(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    body = "hi".encode("utf-16-be") + b"\x00"
    mock.get(TEXT).mock(
        return_value=httpx.Response(200, content=body, headers={"content-type": "text/plain; charset=utf-16"})
    )
    assert (await make_dual().call("generate_text", "hi")).text == "hi\ufffd"


async def test_a_text_plain_answer_that_is_the_json_answer_is_read_as_json(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    usage = b'"usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}'
    body = b'{"response": "hi", "model": "openai", ' + usage + b"}"
    mock.get(TEXT).mock(return_value=httpx.Response(200, content=body, headers={"content-type": "text/plain"}))
    result = await make_dual().call("generate_text", "hi")
    assert (result.text, result.model, result.usage.total_tokens) == ("hi", "openai", 2)


async def test_a_text_plain_answer_whose_text_is_other_json_stays_text(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    # The model was asked for JSON; the text API hands it back as plain text.
    body = b'{"colour": "blue"}'
    mock.get(TEXT).mock(return_value=httpx.Response(200, content=body, headers={"content-type": "text/plain"}))
    assert (await make_dual().call("generate_text", "A colour as JSON")).text == body.decode()


# --------------------------------------------------------------------------- nested error bodies


async def test_a_nested_error_body_gives_the_message_and_code(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mock.get(TEXT).mock(return_value=json_answer(nested("invalid_parameter", "temperature is too high"), status=400))
    with pytest.raises(BadRequestError) as caught:
        await make_dual().call("generate_text", "hi")
    assert caught.value.error == "temperature is too high"
    assert caught.value.code == "invalid_parameter"
    assert str(caught.value) == "400: invalid_parameter: temperature is too high"


@pytest.mark.parametrize(
    "form",
    ["seconds", "milliseconds", "numeric string", "iso 8601"],
)
async def test_reset_time_is_the_wait_of_a_429(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, form: str
) -> None:
    reset = time.time() + 3000
    value: object = {
        "seconds": reset,
        "milliseconds": int(reset * 1000),
        "numeric string": str(int(reset)),
        "iso 8601": datetime.fromtimestamp(reset, UTC).isoformat(),
    }[form]
    route = mock.post(CHAT).mock(
        return_value=json_answer(nested("rate_limit_exceeded", "Too many requests", value), status=429)
    )
    with pytest.raises(RateLimitError) as caught:
        await make_dual(retry_policy=FAST).call("chat", "hi")
    # Past max_wait (60 s): raised at once, saying the wait, as for X-RateLimit-Reset.
    assert route.call_count == 1
    assert caught.value.retry_after is not None and 2990 < caught.value.retry_after <= 3000
    assert caught.value.code == "rate_limit_exceeded"
    assert "max_wait" in str(caught.value)


async def test_a_reset_time_already_past_is_retried_at_once(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(
        side_effect=[
            json_answer(nested("rate_limit_exceeded", "Too many requests", time.time() - 5), status=429),
            json_answer({"response": "ok"}),
        ]
    )
    assert (await make_dual(retry_policy=FAST).call("chat", "hi")).text == "ok"
    assert route.call_count == 2


def _drive_to_sleep(answer: Answer, now: float) -> float:
    """Run a call's flow (no I/O) with a fixed clock: the Sleep it asks for after `answer`."""
    plan, parse = status_call()
    config = FlowConfig(retry=RetryPolicy(), on_rate_limit="wait", max_media_bytes=1, clock=lambda: now)
    flow = call_flow(plan, parse, config, ClientState())
    assert isinstance(flow.send(None), Send)
    action = flow.send(answer)
    assert isinstance(action, Sleep), action
    return action.seconds


def test_the_flow_sleeps_exactly_until_reset_time() -> None:
    body = httpx.Response(429, json=nested("rate_limit_exceeded", "slow down", 1_000_030)).content
    assert _drive_to_sleep(Answer(429, {"content-type": "application/json"}, body), now=1_000_000.0) == 30.0


def test_headers_come_before_reset_time() -> None:
    body = httpx.Response(429, json=nested("rate_limit_exceeded", "slow down", 1_000_030)).content
    headers = {"content-type": "application/json", "retry-after": "7"}
    assert _drive_to_sleep(Answer(429, headers, body), now=1_000_000.0) == 7.0


NOW = 1_750_000_000.0  # June 2025


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOW + 30, 30.0),
        (NOW + 30.5, 30.5),
        (int(NOW + 30) * 1000, 30.0),  # milliseconds, as JavaScript's Date.now() gives
        (str(int(NOW + 30)), 30.0),
        (datetime.fromtimestamp(NOW + 30, UTC).isoformat(), 30.0),
        (datetime.fromtimestamp(NOW + 30, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), 30.0),
        (datetime.fromtimestamp(NOW + 30, UTC).strftime("%Y-%m-%dT%H:%M:%S"), 30.0),  # no zone: UTC
        (NOW - 100, 0.0),  # already past
        ("soon", None),
        (True, None),
        (None, None),
        (float("nan"), None),
        (-5, None),
        ({"at": 1}, None),
    ],
)
def test_reset_time_forms(value: object, expected: float | None) -> None:
    assert seconds_until_reset_time(value, now=NOW) == expected


# --------------------------------------------------------------------------- 2xx JSON with "error"


async def test_a_2xx_json_error_is_raised_typed_by_its_code(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    reset = time.time() + 3000
    route = mock.post(CHAT).mock(return_value=json_answer(nested("rate_limit_exceeded", "slow down", reset)))
    with pytest.raises(RateLimitError) as caught:
        await make_dual(retry_policy=FAST).call("chat", "hi")
    assert route.call_count == 1
    assert caught.value.status_code == 200
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.error == "slow down"
    assert caught.value.retry_after is not None and 2990 < caught.value.retry_after <= 3000
    assert str(caught.value).startswith("the service answered with an error: rate_limit_exceeded: slow down")


@pytest.mark.parametrize(
    ("body", "error_class"),
    [
        ({"error": "Invalid API key"}, APIStatusError),
        (nested("invalid_api_key", "Invalid API key"), AuthenticationError),
        (nested("something_new", "Invalid API key"), APIStatusError),
    ],
)
async def test_a_2xx_json_error_from_every_kind_of_call(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, body: dict[str, object], error_class: type[APIStatusError]
) -> None:
    mock.post(CHAT).mock(return_value=json_answer(body))
    mock.get(TEXT).mock(return_value=json_answer(body))
    dual = make_dual(api_key="sk-secret-1234")
    calls = [
        dual.call("chat", "hi"),
        dual.call("generate_text", "hi"),
        dual.call("generate_audio", "hi"),
        dual.collect(dual.client.stream_chat("hi")),
    ]
    for call in calls:
        with pytest.raises(error_class) as caught:
            await call
        assert type(caught.value) is error_class
        assert caught.value.error == "Invalid API key"
        assert "Invalid API key" in str(caught.value)
        assert "sk-secret-1234" not in str(caught.value) + repr(caught.value) + caught.value.body_excerpt

"""Errors and results survive pickle and copy.deepcopy (a ProcessPoolExecutor worker sends
both through pickle), and results turn into JSON with `to_dict()`."""

from __future__ import annotations

import base64
import copy
import json
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PNG, PiecesThenFail, json_answer, sse

import dynaspark_sdk
from dynaspark_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncImageResult,
    AuthenticationError,
    BadRequestError,
    ChatResponse,
    ClientClosedError,
    DynasparkError,
    ImageResult,
    InternalServerError,
    InvalidRequestError,
    MediaError,
    ModelNotSupportedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    StreamClosedError,
    StreamInterruptedError,
    StructuredOutputError,
)

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
TEXT = f"{BASE_URL}/api/generate_response"
IMAGE = f"{BASE_URL}/api/generate_image"
PICTURE = "https://images.example/lighthouse.png"
RATE = {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "7", "x-ratelimit-reset": "1900000000"}

STATUS_KWARGS: dict[str, Any] = {
    "status_code": 503,
    "error": "overloaded",
    "code": "overloaded",
    "body_excerpt": '{"error": {"code": "overloaded", "message": "overloaded"}}',
    "headers": {"retry-after": "3"},
    "rate_limit": RateLimit(limit=100, remaining=0, reset=1900000000),
}

ERRORS: list[DynasparkError] = [
    DynasparkError("base"),
    InvalidRequestError("bad input"),
    ModelNotSupportedError("no such model"),
    MediaError("not an image"),
    APIConnectionError("connection failed"),
    APITimeoutError("timed out"),
    APIStatusError("odd status", **{**STATUS_KWARGS, "status_code": 418}),
    BadRequestError("bad", **{**STATUS_KWARGS, "status_code": 400}),
    AuthenticationError("key refused", **{**STATUS_KWARGS, "status_code": 401}),
    PermissionDeniedError("forbidden", **{**STATUS_KWARGS, "status_code": 403}),
    NotFoundError("not found", **{**STATUS_KWARGS, "status_code": 404}),
    RateLimitError("slow down", retry_after=3.5, **{**STATUS_KWARGS, "status_code": 429}),
    InternalServerError("overloaded", **STATUS_KWARGS),
    ResponseValidationError("html page", status_code=502, content_type="text/html", body_excerpt="<html>"),
    StreamInterruptedError("broke off", partial_text="half an ans"),
    StructuredOutputError("no call", raw_text="plain", errors=("no JSON",), attempts=("{", "plain")),
    ClientClosedError("this Client is closed"),
    StreamClosedError("this Stream was closed before its end"),
]


def test_the_list_covers_every_public_error_class() -> None:
    public = {
        value
        for name in dynaspark_sdk.__all__
        if isinstance(value := getattr(dynaspark_sdk, name), type) and issubclass(value, DynasparkError)
    }
    assert public <= {type(error) for error in ERRORS}


def _same_error(copied: BaseException, original: BaseException) -> None:
    assert type(copied) is type(original)
    assert copied.args == original.args
    assert str(copied) == str(original)
    assert repr(copied) == repr(original)
    assert vars(copied) == vars(original)


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_survives_pickle_and_deepcopy(error: DynasparkError) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        _same_error(pickle.loads(pickle.dumps(error, protocol)), error)
    _same_error(copy.deepcopy(error), error)
    _same_error(copy.copy(error), error)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


async def test_a_429_from_the_wire_survives_pickling(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    headers = {**RATE, "x-ratelimit-remaining": "0", "retry-after": "9999"}
    mock.get(TEXT).mock(return_value=json_answer({"error": "rate limited"}, status=429, headers=headers))
    dual = make_dual(max_retries=0)
    with pytest.raises(RateLimitError) as caught:
        await dual.call("generate_text", "hi")
    copied = pickle.loads(pickle.dumps(caught.value))
    _same_error(copied, caught.value)
    assert isinstance(copied, RateLimitError)
    assert copied.status_code == 429
    assert copied.retry_after == 9999.0
    assert copied.rate_limit == RateLimit(limit=100, remaining=0, reset=1900000000)
    assert copied.error == "rate limited"


async def test_a_broken_stream_survives_pickling(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    events = sse(json.dumps({"choices": [{"delta": {"content": "partial "}}]}))
    mock.get(TEXT).mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=PiecesThenFail([events]))
    )
    dual = make_dual(retry_policy=RetryPolicy(max_retries=0))
    with pytest.raises(StreamInterruptedError) as caught:
        await dual.collect(dual.client.stream_text("x"))
    copied = copy.deepcopy(pickle.loads(pickle.dumps(caught.value)))
    _same_error(copied, caught.value)
    assert copied.partial_text == "partial "


async def test_results_pickle_and_turn_into_json(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    mock.post(CHAT).mock(return_value=json_answer({"response": "Hello"}, headers=RATE))
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    mock.get(TEXT).mock(return_value=json_answer({"response": "Hi", "model": "openai", "usage": usage}, headers=RATE))
    mock.get(IMAGE).mock(return_value=json_answer({"image_url": PICTURE, "model": "flux", "seed": 7}, headers=RATE))
    mock.get("https://dynaspark.test/status").mock(return_value=json_answer({"status": "ok", "uptime": 5}))
    mock.get(PICTURE).mock(return_value=httpx.Response(200, headers={"content-type": "image/png"}, content=PNG))
    dual = make_dual()

    chat = await dual.call("chat", "Hi")
    text = await dual.call("generate_text", "Hi")
    image = await dual.call("generate_image", "a lighthouse")
    status = await dual.call("status")
    for result in (chat, text, image, status):
        copied = pickle.loads(pickle.dumps(result))
        assert type(copied) is type(result)
        assert copied.to_dict() == result.to_dict()
        assert copy.deepcopy(result).to_dict() == result.to_dict()
        json.dumps(result.to_dict())  # JSON-ready

    rate_limit = {"limit": 100, "remaining": 7, "reset": 1900000000}
    assert chat.to_dict() == {
        "text": "Hello",
        "model": "gemini-1.5-flash-8b",
        "headers": dict(chat.headers.items()),
        "rate_limit": rate_limit,
        "tool_calls": [],
        "parsed": None,
    }
    assert pickle.loads(pickle.dumps(chat)) == chat
    assert text.to_dict()["usage"] == usage
    assert text.to_dict()["model"] == "openai"
    assert text.to_dict()["rate_limit"] == rate_limit
    assert {k: v for k, v in image.to_dict().items() if k != "headers"} == {
        "url": PICTURE,
        "model": "flux",
        "seed": 7,
        "rate_limit": rate_limit,
    }
    assert status.to_dict()["ok"] is True
    assert status.to_dict()["details"] == {"status": "ok", "uptime": 5}

    # A deep copy downloads through the same client; an unpickled one through a client of its own.
    deep = copy.deepcopy(image)
    assert await dual.resolve(deep.download()) == PNG
    copied_image = pickle.loads(pickle.dumps(image))
    assert type(copied_image) is type(image) and type(image) in (ImageResult, AsyncImageResult)
    await dual.close()
    with pytest.raises(ClientClosedError):
        await dual.resolve(deep.download())
    assert await dual.resolve(copied_image.download()) == PNG


async def test_audio_result_pickles_and_its_dict_holds_base64(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mp3 = b"\xff\xfb\x90\x64" + bytes(413)
    mock.get(TEXT).mock(return_value=httpx.Response(200, headers={"content-type": "audio/mpeg"}, content=mp3))
    audio = await make_dual().call("generate_audio", "Hello")
    copied = pickle.loads(pickle.dumps(audio))
    assert copied == audio
    as_dict = copied.to_dict()
    assert as_dict["content_type"] == "audio/mpeg"
    assert as_dict["voice"] == "alloy"
    assert base64.b64decode(as_dict["data_base64"]) == mp3
    json.dumps(as_dict)


def test_chat_response_to_dict_without_an_answer_behind_it() -> None:
    response = ChatResponse(text="x", model="m")
    assert response.to_dict() == {
        "text": "x",
        "model": "m",
        "headers": {},
        "rate_limit": {"limit": None, "remaining": None, "reset": None},
        "tool_calls": [],
        "parsed": None,
    }

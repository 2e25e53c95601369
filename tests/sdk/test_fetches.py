"""Fetching an image (an image URL given as `media=`, `ImageResult.download()` / `save()`) is
not a call of the service: it carries none of the user's headers or the key, asks for an image,
ignores and leaves alone the service's rate-limit state, and a failure says it was the image."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PNG, json_answer, multipart_of, query_of

from dynaspark_sdk import MediaError, RateLimitError, RetryPolicy

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"
TEXT = f"{BASE_URL}/api/generate_response"
IMAGE = f"{BASE_URL}/api/generate_image"
PICTURE = "https://images.example/lighthouse.png"
KEY = "sk-live-SECRET-4242"
USER_HEADERS = {"Authorization": "Bearer org-token-77", "OpenAI-Organization": "org-9", "X-Team": "blue"}
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def png_answer(headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, content=PNG, headers={"content-type": "image/png", **(headers or {})})


def assert_nothing_of_the_users(request: httpx.Request) -> None:
    for name in USER_HEADERS:
        assert name not in request.headers
    assert KEY not in str(request.url)
    assert KEY not in str(request.headers)
    assert request.headers["accept"] == "image/*"


def assert_the_users_headers(request: httpx.Request) -> None:
    for name, value in USER_HEADERS.items():
        assert request.headers[name] == value


async def test_media_url_fetch_carries_no_user_headers_or_key(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    picture = mock.get(PICTURE).mock(return_value=png_answer())
    chat = mock.post(CHAT).mock(return_value=json_answer({"response": "a lighthouse"}))
    dual = make_dual(api_key=KEY, default_headers=USER_HEADERS)
    await dual.call("chat", "describe", media=PICTURE)
    assert_nothing_of_the_users(picture.calls.last.request)
    assert_the_users_headers(chat.calls.last.request)
    assert multipart_of(chat.calls.last.request)["file"]["value"] == PNG


async def test_download_and_save_carry_no_user_headers_or_key(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, tmp_path: Path
) -> None:
    generate = mock.get(IMAGE).mock(return_value=json_answer({"image_url": PICTURE, "model": "flux", "seed": 1}))
    picture = mock.get(PICTURE).mock(return_value=png_answer())
    dual = make_dual(api_key=KEY, default_headers=USER_HEADERS)
    image = await dual.call("generate_image", "a lighthouse")
    assert_the_users_headers(generate.calls.last.request)
    assert query_of(generate.calls.last.request)["api_key"] == KEY
    assert await dual.resolve(image.download()) == PNG
    assert_nothing_of_the_users(picture.calls.last.request)
    saved = await dual.resolve(image.save(tmp_path / "l.png"))
    assert saved.read_bytes() == PNG
    assert picture.call_count == 2
    assert_nothing_of_the_users(picture.calls.last.request)


def used_up_window(reset_in: float = 3600) -> dict[str, str]:
    return {
        "x-ratelimit-limit": "100",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": str(int(time.time() + reset_in)),
    }


async def test_a_download_ignores_a_used_up_window(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    mock.get(IMAGE).mock(return_value=json_answer({"image_url": PICTURE}, headers=used_up_window()))
    picture = mock.get(PICTURE).mock(return_value=png_answer())
    text = mock.get(TEXT)
    dual = make_dual(on_rate_limit="raise")
    image = await dual.call("generate_image", "a lighthouse")
    # The window is used up for the service: an API call is refused without sending...
    with pytest.raises(RateLimitError):
        await dual.call("generate_text", "hi")
    assert not text.called
    # ...but fetching the image is not an API call.
    assert await dual.resolve(image.download()) == PNG
    assert picture.called


async def test_fetches_do_not_count_against_the_window(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    # The image's host (here answering with the service's kind of headers) says "used up":
    # that is not the service's window.
    fresh = {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "50", "x-ratelimit-reset": "1900000000"}
    mock.get(IMAGE).mock(return_value=json_answer({"image_url": PICTURE}, headers=fresh))
    mock.get(PICTURE).mock(return_value=png_answer(used_up_window()))
    chat = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}, headers=fresh))
    text = mock.get(TEXT).mock(return_value=json_answer({"response": "hi"}))
    dual = make_dual(on_rate_limit="raise")
    image = await dual.call("generate_image", "a lighthouse")
    await dual.resolve(image.download())
    await dual.call("chat", "describe", media=PICTURE)
    assert dual.client.rate_limit.remaining == 50
    await dual.call("generate_text", "hi")
    assert chat.called
    assert text.called


async def test_a_media_url_is_not_fetched_when_the_call_is_refused(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mock.get(TEXT).mock(return_value=json_answer({"response": "hi"}, headers=used_up_window()))
    picture = mock.get(PICTURE).mock(return_value=png_answer())
    dual = make_dual(on_rate_limit="raise")
    await dual.call("generate_text", "hi")
    with pytest.raises(RateLimitError):
        await dual.call("chat", "describe", media=PICTURE)
    assert not picture.called


@pytest.mark.parametrize(("status", "attempts"), [(404, 1), (503, 3), (403, 1)])
async def test_a_failed_media_fetch_is_a_media_error(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, status: int, attempts: int
) -> None:
    url = "https://user:pw@images.example/missing.png?sig=SECRET-SIG#frag"
    picture = mock.get(url).mock(return_value=json_answer({"error": "no such image"}, status=status))
    chat = mock.post(CHAT)
    with pytest.raises(MediaError) as caught:
        await make_dual(retry_policy=FAST).call("chat", "describe", media=url)
    message = str(caught.value)
    assert message == f"cannot fetch the image at URL https://images.example/missing.png: HTTP {status} (no such image)"
    assert "SECRET" not in repr(caught.value)
    assert picture.call_count == attempts  # 5xx retried like any other fetch
    assert not chat.called


async def test_a_media_fetch_failing_in_a_stream_is_a_media_error(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mock.get(PICTURE).mock(return_value=httpx.Response(404))
    dual = make_dual(max_retries=0)
    with pytest.raises(
        MediaError, match=r"^cannot fetch the image at URL https://images.example/lighthouse.png: HTTP 404$"
    ):
        await dual.collect(dual.client.stream_chat("describe", media=PICTURE))


async def test_a_redirect_away_from_the_service_drops_the_users_headers(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    moved = "https://elsewhere.example/api/generate_response"
    mock.get(TEXT).mock(return_value=httpx.Response(302, headers={"location": moved}))
    elsewhere = mock.get(moved).mock(return_value=json_answer({"response": "hi"}))
    dual = make_dual(default_headers=USER_HEADERS)
    assert (await dual.call("generate_text", "hi")).text == "hi"
    request = elsewhere.calls.last.request
    for name in USER_HEADERS:
        assert name not in request.headers
    assert request.headers["user-agent"].startswith("dynaspark-sdk/")


async def test_a_redirect_within_the_service_keeps_the_users_headers(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    moved = f"{BASE_URL}/api/v2/generate_response"
    mock.get(TEXT).mock(return_value=httpx.Response(307, headers={"location": moved}))
    same_origin = mock.get(moved).mock(return_value=json_answer({"response": "hi"}))
    await make_dual(default_headers=USER_HEADERS).call("generate_text", "hi")
    assert_the_users_headers(same_origin.calls.last.request)


async def test_a_media_url_that_cannot_be_reached_is_a_media_error(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    url = "https://unreachable.example/cat.png?token=SECRET"
    picture = mock.get(url).mock(side_effect=httpx.ConnectError("connection refused"))
    chat = mock.post(CHAT)
    with pytest.raises(
        MediaError, match=r"^cannot fetch the image at URL https://unreachable.example/cat.png: "
    ) as caught:
        await make_dual(retry_policy=FAST).call("chat", "describe", media=url)
    assert "connection refused" in str(caught.value)
    assert "SECRET" not in str(caught.value)
    assert picture.call_count == 3  # retried like any connection failure
    assert not chat.called

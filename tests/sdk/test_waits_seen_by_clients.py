"""The waits and refusals as a user of either client meets them (respx on the wire).

Each client's own sleep is recorded instead of slept (`sleeps`), so a test sees exactly how long
the client would have waited before each retry, without waiting: the backoff a `RetryPolicy`
sets, the Retry-After a server sends (seconds or an HTTP date, or garbage), the reset of a
used-up window. Also: the early RateLimitError of a used-up window, a 500 after the chat path's
switch, `max_media_bytes` on an image given as a URL, and what a stream shows before it started.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PNG, json_answer

from dynaspark_sdk import InternalServerError, MediaError, RateLimitError, RetryPolicy
from dynaspark_sdk._flow import Sleep

pytestmark = pytest.mark.anyio
NEW, OLD = f"{BASE_URL}/dsai_fuck_u_spammer", f"{BASE_URL}/generate_response"
TEXT = f"{BASE_URL}/api/generate_response"
PICTURE = "https://images.example/lighthouse.png"
EXACT = RetryPolicy(max_retries=3, initial_delay=0.5, max_delay=8.0, max_wait=60.0, jitter=0.0)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds each client would have slept, in order (nothing is slept)."""
    from dynaspark_sdk import async_client, client

    taken: list[float] = []
    sync_perform = client._Runner.perform
    async_perform = async_client._AsyncRunner.perform

    def perform(self: Any, action: object) -> object:
        if isinstance(action, Sleep):
            taken.append(action.seconds)
            return None
        return sync_perform(self, action)

    async def aperform(self: Any, action: object) -> object:
        if isinstance(action, Sleep):
            taken.append(action.seconds)
            return None
        return await async_perform(self, action)

    monkeypatch.setattr(client._Runner, "perform", perform)
    monkeypatch.setattr(async_client._AsyncRunner, "perform", aperform)
    return taken


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.fromtimestamp(time.time() + seconds_from_now, UTC), usegmt=True)


async def test_the_backoff_schedule_a_policy_sets(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, sleeps: list[float]
) -> None:
    down = json_answer({"error": "down"}, status=503)
    route = mock.get(TEXT).mock(side_effect=[down, down, down, json_answer({"response": "up"})])
    answer = await make_dual(retry_policy=EXACT).call("generate_text", "hi")
    assert answer.text == "up"
    assert route.call_count == 4
    assert sleeps == [0.5, 1.0, 2.0]


async def test_retry_after_seconds_date_and_garbage(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, sleeps: list[float]
) -> None:
    def limited(retry_after: str) -> httpx.Response:
        return json_answer({"error": "slow down"}, status=429, headers={"Retry-After": retry_after})

    route = mock.get(TEXT).mock(
        side_effect=[limited("7"), limited(http_date(30)), limited("soon"), json_answer({"response": "ok"})]
    )
    assert (await make_dual(retry_policy=EXACT).call("generate_text", "hi")).text == "ok"
    assert route.call_count == 4
    seconds, date, garbage = sleeps
    assert seconds == 7.0
    assert 28.0 < date <= 30.0  # an HTTP date has whole seconds, and time passes
    assert garbage == 2.0  # no wait named: the third retry's backoff


async def test_a_429_without_retry_after_waits_for_the_windows_reset(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, sleeps: list[float]
) -> None:
    reset = int(time.time()) + 20
    headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    mock.get(TEXT).mock(
        side_effect=[json_answer({"error": "slow down"}, status=429, headers=headers), json_answer({"response": "ok"})]
    )
    assert (await make_dual(retry_policy=EXACT).call("generate_text", "hi")).text == "ok"
    [waited] = sleeps
    assert 17.0 < waited <= 20.0


async def test_a_used_up_window_is_refused_before_a_request(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, sleeps: list[float]
) -> None:
    reset = int(time.time()) + 3000
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    route = mock.get(TEXT).mock(return_value=json_answer({"response": "last one"}, headers=headers))
    dual = make_dual(retry_policy=EXACT)  # waits for a window, but not this long
    assert (await dual.call("generate_text", "hi")).text == "last one"
    with pytest.raises(RateLimitError) as caught:
        await dual.call("generate_text", "again")
    assert route.call_count == 1
    assert sleeps == []
    refused = caught.value
    assert refused.status_code == 429
    assert refused.retry_after is not None and 2990 < refused.retry_after <= 3000
    assert (refused.rate_limit.limit, refused.rate_limit.remaining, refused.rate_limit.reset) == (100, 0, reset)
    assert "used up (100 requests)" in str(refused)


async def test_a_used_up_window_is_waited_for_when_it_resets_soon(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, sleeps: list[float]
) -> None:
    reset = int(time.time()) + 10
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}
    route = mock.get(TEXT).mock(return_value=json_answer({"response": "fine"}, headers=headers))
    dual = make_dual(retry_policy=EXACT)
    await dual.call("generate_text", "hi")
    await dual.call("generate_text", "again")
    assert route.call_count == 2
    [waited] = sleeps
    assert 7.0 < waited <= 10.0


async def test_a_500_after_the_path_switch_does_not_pin_the_old_path(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, sleeps: list[float]
) -> None:
    new = mock.post(NEW).mock(
        side_effect=[json_answer({"error": "gone"}, status=404), json_answer({"response": "at the new path"})]
    )
    old = mock.post(OLD).mock(return_value=json_answer({"error": "boom"}, status=500))
    dual = make_dual(max_retries=0)
    with pytest.raises(InternalServerError):
        await dual.call("chat", "hi")
    assert (await dual.call("chat", "hi")).text == "at the new path"
    assert (new.call_count, old.call_count) == (2, 1)
    assert sleeps == []


async def test_max_media_bytes_caps_an_image_url(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, sleeps: list[float]
) -> None:
    picture = mock.get(PICTURE).mock(
        return_value=httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
    )
    chat = mock.post(NEW).mock(return_value=json_answer({"response": "a lighthouse"}))
    with pytest.raises(MediaError, match=f"{len(PNG) - 1}"):
        await make_dual(max_media_bytes=len(PNG) - 1).call("chat", "describe", media=PICTURE)
    assert picture.call_count == 1
    assert not chat.called
    assert (await make_dual(max_media_bytes=len(PNG)).call("chat", "describe", media=PICTURE)).text == "a lighthouse"


async def test_a_stream_before_it_started(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.get(TEXT).mock(return_value=json_answer({"response": "hi"}, headers={"X-Answer": "1"}))
    dual = make_dual()
    stream = dual.client.stream_text("hi")
    assert (stream.headers, stream.status_code, stream.text) == ({}, None, "")
    assert not route.called
    assert await dual.collect(stream) == ["hi"]
    assert (stream.headers["x-answer"], stream.status_code) == ("1", 200)

"""Every failure is a DynasparkError, also the ones that come from how the client is used:
a header HTTP cannot carry, `http_client=` with `proxy=`, and a closed client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual, own_http_client, sdk_client_class
from wire import json_answer, openai_chunk, sse

from dynaspark_sdk import ClientClosedError, DynasparkError, InvalidRequestError

pytestmark = pytest.mark.anyio
TEXT = f"{BASE_URL}/api/generate_response"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.get(TEXT).mock(
            return_value=httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=sse(openai_chunk("hi"), "[DONE]")
            )
        )
        router.post(f"{BASE_URL}/dsai_fuck_u_spammer").mock(return_value=json_answer({"response": "ok"}))
        yield router


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-Team": "café"}, "the value of 'X-Team' holds U+00E9; header values must be printable ASCII"),
        ({"X-Team": "blue\r\nX-Admin: yes"}, "the value of 'X-Team' holds a line break"),
        ({"X-Team": "blue\nX-Admin: yes"}, "the value of 'X-Team' holds a line break"),
        ({"X-Team": "nul\x00"}, "the value of 'X-Team' holds U+0000"),
        ({"X Team": "blue"}, "'X Team' is not a valid header name"),
        ({"X-Téam": "blue"}, "'X-Téam' is not a valid header name"),
        ({"X-Team:": "blue"}, "'X-Team:' is not a valid header name"),
    ],
)
async def test_a_header_http_cannot_carry_is_refused_before_sending(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=r"^default_headers: ") as caught:
        make_dual(default_headers=headers)
    assert message in str(caught.value)
    good = make_dual(default_headers={"X-Team": "blue\tgreen"})
    with pytest.raises(InvalidRequestError, match=r"^default_headers: "):
        good.client.with_options(default_headers=headers)
    await good.call("chat", "hi")
    assert mock.calls.last.request.headers["x-team"] == "blue\tgreen"
    assert len(mock.calls) == 1


async def test_http_client_with_proxy_is_an_invalid_request(client_kind: str) -> None:
    async with own_http_client(client_kind) as own:
        with pytest.raises(InvalidRequestError, match="give proxy= to your own http_client"):
            sdk_client_class(client_kind)(http_client=own, proxy="http://proxy.example:3128")


async def read(dual: Dual, stream: Any) -> list[str]:
    return await dual.collect(stream)


async def test_a_stream_read_after_its_client_was_closed(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    dual = make_dual()
    stream = dual.client.stream_text("hi")
    await dual.close()
    with pytest.raises(ClientClosedError, match="is closed") as caught:
        await read(dual, stream)
    assert isinstance(caught.value, DynasparkError)
    assert isinstance(caught.value, RuntimeError)  # as httpx's own closed-client error
    assert not mock.calls


async def test_a_stream_of_a_copy_read_after_the_original_was_closed(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    dual = make_dual()
    copy = Dual(dual.kind, dual.client.with_options(timeout=5))
    stream = copy.client.stream_text("hi")
    await dual.close()
    with pytest.raises(ClientClosedError, match="made from with with_options"):
        await read(copy, stream)
    assert not mock.calls


async def test_calls_on_a_closed_client(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    dual = make_dual()
    assert await read(dual, dual.client.stream_text("hi")) == ["hi"]
    await dual.close()
    with pytest.raises(ClientClosedError, match="is closed"):
        await dual.call("chat", "hi")
    with pytest.raises(ClientClosedError):
        dual.client.stream_text("hi")
    assert len(mock.calls) == 1


async def test_a_closed_http_client_of_ones_own(client_kind: str, mock: respx.MockRouter) -> None:
    async with own_http_client(client_kind) as own:
        pass  # closed on leaving the block
    dual = Dual(client_kind, sdk_client_class(client_kind)(base_url=BASE_URL, http_client=own))
    with pytest.raises(ClientClosedError, match=f"http_client of this {type(dual.client).__name__} is closed"):
        await dual.call("chat", "hi")
    assert not mock.calls


async def test_an_async_client_closes_with_close_too(anyio_backend: str, mock: respx.MockRouter) -> None:
    """openai-python's AsyncClient spells it `await client.close()`; both spellings work."""
    from dynaspark_sdk import AsyncClient

    client = AsyncClient(base_url=BASE_URL)
    assert (await client.chat("hi")).text == "ok"
    await client.close()
    with pytest.raises(ClientClosedError, match="this AsyncClient is closed"):
        await client.chat("hi")
    await client.close()  # twice, like aclose()
    await client.aclose()
    assert len(mock.calls) == 1

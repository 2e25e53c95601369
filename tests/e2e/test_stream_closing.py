"""Streams and closing, over a loopback socket: a stream read after its client was closed
raises ClientClosedError (also once it has started), and a stream closed before its end
raises StreamClosedError when read again instead of looking empty."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import Dual

from dynaspark_sdk import ClientClosedError, DynasparkError, StreamClosedError
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

PROMPT = "one two three four five six seven eight"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    # Events 20 ms apart: a stream is still under way when the test closes its client.
    with serve(Emulator(rate_limit=1_000_000, stream_delay=0.02)) as running:
        yield running


async def test_a_started_stream_read_after_its_client_was_closed(
    make_dual: Callable[..., Dual], server: EmulatorServer
) -> None:
    dual = make_dual(base_url=server.url, max_retries=0)
    stream = dual.client.stream_text(PROMPT)
    first = await dual.next_piece(stream)
    assert first == "[openai] "
    await dual.close()
    with pytest.raises(ClientClosedError, match=f"this {type(dual.client).__name__} is closed"):
        await dual.next_piece(stream)
    assert stream.text == first  # what had arrived stays readable
    with pytest.raises(StreamClosedError):  # the error closed the stream
        await dual.next_piece(stream)


async def test_a_started_stream_of_a_copy_read_after_the_original_was_closed(
    make_dual: Callable[..., Dual], server: EmulatorServer
) -> None:
    dual = make_dual(base_url=server.url, max_retries=0)
    copy = Dual(dual.kind, dual.client.with_options(timeout=5))
    stream = copy.client.stream_text(PROMPT)
    await copy.next_piece(stream)
    await dual.close()
    with pytest.raises(ClientClosedError, match="made from with with_options"):
        await copy.next_piece(stream)


@pytest.mark.parametrize("read_first", [0, 1], ids=["unread", "one piece read"])
async def test_a_stream_closed_before_its_end_says_so_when_read_again(
    make_dual: Callable[..., Dual], server: EmulatorServer, read_first: int
) -> None:
    dual = make_dual(base_url=server.url)
    stream = dual.client.stream_text(PROMPT)
    pieces = [await dual.next_piece(stream) for _ in range(read_first)]
    await dual.close_stream(stream)
    with pytest.raises(StreamClosedError, match="closed before its end") as caught:
        await dual.items(stream)
    assert isinstance(caught.value, DynasparkError)
    assert isinstance(caught.value, RuntimeError)  # as httpx's StreamClosed
    assert f"{len(''.join(pieces))} characters had arrived" in str(caught.value)
    with pytest.raises(StreamClosedError):
        await dual.resolve(stream.until_done())
    assert stream.text == "".join(pieces)
    assert "closed" in repr(stream)


async def test_a_stream_read_to_its_end_just_stops_again(
    make_dual: Callable[..., Dual], server: EmulatorServer
) -> None:
    dual = make_dual(base_url=server.url)
    stream = dual.client.stream_text("one two")
    assert "".join(await dual.collect(stream)) == "[openai] You said: one two"
    assert await dual.items(stream) == []  # an exhausted iterator, not an error
    assert stream.completed

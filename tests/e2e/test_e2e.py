"""End to end over real loopback sockets: both clients against the emulator's server."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Dual
from wire import PNG

from dynaspark_sdk import (
    APITimeoutError,
    InternalServerError,
    InvalidRequestError,
    RetryPolicy,
    StreamInterruptedError,
)
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

pytestmark = pytest.mark.anyio
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator()) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Emulator]:
    emu = server.emulator
    emu.clear_faults()
    emu.clear_requests()
    emu.reset_rate_limits()
    emu.stream_delay = 0.0
    yield emu
    emu.clear_faults()
    emu.stream_delay = 0.0


@pytest.fixture
def dual(make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator) -> Dual:
    return make_dual(base_url=server.url, retry_policy=FAST, timeout=5)


async def test_chat_with_an_image_over_sockets(dual: Dual, emulator: Emulator, tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    picture.write_bytes(PNG)
    answer = await dual.call("chat", [{"role": "user", "content": "Hi"}], model="gemini-2.0-flash", media=picture)
    assert answer.text == f"[gemini-2.0-flash-lite] You said: Hi (with a {len(PNG)}-byte image/png image)"
    assert answer.rate_limit.limit == 100
    recorded = emulator.requests[-1]
    assert recorded.files[0].filename == "p.png"
    assert recorded.files[0].data == PNG


async def test_stream_text_arrives_in_pieces(dual: Dual, emulator: Emulator) -> None:
    emulator.stream_delay = 0.005
    stream = dual.client.stream_text("one two three four")
    pieces = await dual.collect(stream)
    assert len(pieces) > 3
    assert "".join(pieces) == stream.text
    assert stream.text.endswith("You said: one two three four")
    assert emulator.requests[-1].params["stream"] == "true"


async def test_breaking_off_a_stream_releases_the_connection(dual: Dual, emulator: Emulator) -> None:
    emulator.stream_delay = 0.01
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            stream = dual.client.stream_text("a b c d e f g h i j k l m n o p")
            first = await dual.next_piece(stream)
            await dual.close_stream(stream)
            assert first
        assert (await dual.call("generate_text", "still fine")).text.endswith("still fine")


async def test_faults_recovered_or_typed(dual: Dual, emulator: Emulator) -> None:
    emulator.inject(faults.reset())
    emulator.inject(faults.html_page(502))
    assert (await dual.call("chat", "hello")).text.endswith("You said: hello")
    assert len(emulator.requests) == 3

    emulator.inject(faults.status(500), times=3)
    with pytest.raises(InternalServerError):
        await dual.call("chat", "hello")

    emulator.inject(faults.cut_stream(after_events=2))
    stream = dual.client.stream_text("w1 w2 w3 w4 w5")
    with pytest.raises(StreamInterruptedError) as caught:
        await dual.collect(stream)
    assert caught.value.partial_text == "[openai] You "
    assert stream.text == "[openai] You "


async def test_slow_first_byte_times_out_and_is_retried(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator
) -> None:
    dual = make_dual(base_url=server.url, retry_policy=FAST, timeout=httpx.Timeout(0.2), max_retries=1)
    emulator.inject(faults.slow_first_byte(0.5))
    assert (await dual.call("generate_text", "patience")).text.endswith("patience")
    emulator.inject(faults.slow_first_byte(0.5), times=2)
    with pytest.raises(APITimeoutError):
        await dual.call("generate_text", "patience")


async def test_image_speech_status_and_conversation(dual: Dual, emulator: Emulator, tmp_path: Path) -> None:
    image = await dual.call("generate_image", "a lighthouse", width=64, height=80, nologo=True)
    data = await dual.resolve(image.download())
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    saved = await dual.resolve(image.save(tmp_path / "l.png"))
    assert saved.read_bytes() == data

    audio = await dual.call("generate_audio", "hi", voice="echo")
    assert audio.data[:2] == b"\xff\xfb"
    assert (await dual.call("status")).ok

    chat = dual.client.conversation()
    await dual.resolve(chat.send("first"))
    second = await dual.resolve(chat.send("second"))
    assert second.text.endswith("You said: second")
    assert emulator.requests[-1].fields["user_input"].startswith("User: first\nAssistant: [")


async def test_save_expands_a_home_folder(
    dual: Dual, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    image = await dual.call("generate_image", "a lighthouse", width=64, height=64)
    saved = await dual.resolve(image.save("~/lighthouse.png"))
    assert saved == tmp_path / "lighthouse.png"
    assert saved.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    audio = await dual.call("generate_audio", "hi")
    assert audio.save(Path("~") / "hi.mp3") == tmp_path / "hi.mp3"
    assert (tmp_path / "hi.mp3").read_bytes() == audio.data
    assert not (tmp_path / "~").exists()  # no folder literally named "~"


async def test_media_expands_a_home_folder_as_save_does(
    dual: Dual, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "x.png").write_bytes(PNG)
    answer = await dual.call("chat", "What is this?", media="~/x.png")
    assert answer.text.endswith(f"(with a {len(PNG)}-byte image/png image)")
    assert emulator.requests[-1].files[0].filename == "x.png"
    await dual.call("chat", "And now?", media=[(Path("~") / "x.png", "mine.png")])
    assert emulator.requests[-1].files[0].data == PNG


async def test_save_into_a_folder_uses_the_images_own_name(dual: Dual, emulator: Emulator, tmp_path: Path) -> None:
    image = await dual.call("generate_image", "a lighthouse", width=64, height=64)
    own_name = image.url.rsplit("/", 1)[-1]
    assert own_name.endswith(".png")
    saved = await dual.resolve(image.save(tmp_path))
    assert saved == tmp_path / own_name
    assert saved.read_bytes() == await dual.resolve(image.download())
    audio = await dual.call("generate_audio", "hi")
    with pytest.raises(InvalidRequestError, match="is a folder: give the path of the file"):
        audio.save(tmp_path)

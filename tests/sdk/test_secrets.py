"""The API key shows nowhere: not in an error, a repr, a log line or the CLI's output.

Every scenario runs with DEBUG logging on for "dynaspark_sdk", "httpx" and "httpcore",
captured twice (pytest's caplog, and a real StreamHandler on a StringIO attached to those
loggers), over real loopback sockets, for successes and for failures (401, 500, an error
text that echoes the key, connection refused, timeout, a stream cut), with Client,
AsyncClient (asyncio and trio) and the CLI. Every text collected is searched for the key;
each scenario also checks that the key was really sent, so the search could find it.
"""

from __future__ import annotations

import functools
import io
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
from conftest import Dual

from dynaspark_sdk import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    Dynaspark,
    DynasparkError,
    InternalServerError,
    RetryPolicy,
    StreamInterruptedError,
)
from dynaspark_sdk.cli import main
from dynaspark_sdk.integrations import gpt4free as provider_module
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

KEY = "sk-live-Pr1vate-7Q2x9Z"
REJECTED_KEY = "sk-revoked-3Kq8Wm0"
SECRETS = (KEY, REJECTED_KEY)
LOGGERS = ("dynaspark_sdk", "httpx", "httpcore")
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)
HANG_GUARD_SECONDS = 20.0
SHORT_TIMEOUT = httpx.Timeout(10.0, read=0.2)

CLIENTS = pytest.mark.parametrize(
    ("client_kind", "anyio_backend"),
    [("sync", "asyncio"), ("async", "asyncio"), ("async", "trio")],
    ids=["sync", "async-asyncio", "async-trio"],
)


class Exposure:
    """Every text a user or a log could see, to be searched for the key at the end."""

    def __init__(self, caplog: pytest.LogCaptureFixture, handler_output: io.StringIO) -> None:
        self._caplog = caplog
        self._handler_output = handler_output
        self.texts: dict[str, str] = {}

    def add(self, label: str, text: str) -> None:
        """Remember `text` under `label` (labels name what leaked, should anything leak)."""
        self.texts[f"{label} #{len(self.texts)}"] = text

    def add_error(self, label: str, error: BaseException) -> None:
        """An error's message, repr, attributes and whole printed traceback (chained errors too)."""
        self.add(f"{label}: str", str(error))
        self.add(f"{label}: repr", repr(error))
        self.add(f"{label}: attributes", repr(vars(error)))
        self.add(f"{label}: traceback", "".join(traceback.format_exception(error)))

    @property
    def log_text(self) -> str:
        """Everything logged so far, as both capturing handlers formatted it."""
        return self._caplog.text + self._handler_output.getvalue()

    def assert_no_secret(self) -> None:
        """No text collected, and no log line, holds a key."""
        everything = {**self.texts, "caplog": self._caplog.text, "StreamHandler": self._handler_output.getvalue()}
        for label, text in everything.items():
            for secret in SECRETS:
                assert secret not in text, f"the key leaked into {label}: {text[:500]}"


@pytest.fixture
def exposure(caplog: pytest.LogCaptureFixture) -> Iterator[Exposure]:
    """DEBUG logging on for the SDK, httpx and httpcore, into caplog and a real StreamHandler."""
    handler_output = io.StringIO()
    handler = logging.StreamHandler(handler_output)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in LOGGERS]
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    for logger in loggers:
        logger.addHandler(handler)
    watched = Exposure(caplog, handler_output)
    try:
        yield watched
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    watched.assert_no_secret()


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=1_000_000, rejected_keys={REJECTED_KEY})) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Emulator]:
    emulator = server.emulator
    emulator.clear_faults()
    emulator.clear_requests()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_key_was_sent(emulator: Emulator, key: str = KEY) -> None:
    """The key did travel (so a leak was possible), and the request log's repr hides it."""
    assert any(request.api_key == key for request in emulator.requests)


async def run(client: Client | AsyncClient, method: str, *args: Any, **kwargs: Any) -> Any:
    """`client.method(...)`, under the hang guard; a stream is read to its end and returned."""
    with anyio.fail_after(HANG_GUARD_SECONDS):
        if isinstance(client, Client):

            def blocking() -> Any:
                result = getattr(client, method)(*args, **kwargs)
                if method.startswith("stream_"):
                    with result:
                        result.until_done()
                return result

            return await anyio.to_thread.run_sync(blocking, abandon_on_cancel=True)
        if method.startswith("stream_"):
            stream = getattr(client, method)(*args, **kwargs)
            async with stream:
                await stream.until_done()
            return stream
        return await getattr(client, method)(*args, **kwargs)


async def failure(
    exposure: Exposure, label: str, client: Client | AsyncClient, method: str, *args: Any, **kwargs: Any
) -> DynasparkError:
    """The SDK error `client.method(...)` raises, its every text added to `exposure`."""
    with pytest.raises(DynasparkError) as caught:
        await run(client, method, *args, **kwargs)
    exposure.add_error(label, caught.value)
    return caught.value


# --------------------------------------------------------------------------- the clients


@CLIENTS
@pytest.mark.anyio
async def test_successes_show_the_key_nowhere(
    make_dual: Callable[..., Dual], server: EmulatorServer, emulator: Emulator, exposure: Exposure, tmp_path: Path
) -> None:
    client = make_dual(base_url=server.url, api_key=KEY, retry_policy=FAST).client
    exposure.add("client repr", repr(client))
    exposure.add("copy repr", repr(client.with_options(max_retries=1)))
    text = await run(client, "generate_text", "hello")
    stream = await run(client, "stream_text", "hello there")
    chat = await run(client, "chat", "hi")
    stream_chat = await run(client, "stream_chat", "hi")
    image = await run(client, "generate_image", "a fox", width=64, height=64)
    if isinstance(client, AsyncClient):
        picture = await image.download()
    else:
        picture = await anyio.to_thread.run_sync(image.download)
    audio = await run(client, "generate_audio", "hi")
    status = await run(client, "status")
    assert stream.text.endswith("hello there") and picture.startswith(b"\x89PNG")
    for label, result in {
        "text": text,
        "stream": stream,
        "chat": chat,
        "chat stream": stream_chat,
        "image": image,
        "audio": audio,
        "status": status,
    }.items():
        exposure.add(f"{label} repr", repr(result))
        exposure.add(f"{label} str", str(result))
        exposure.add(f"{label} headers", repr(getattr(result, "headers", {})))
    exposure.add("recorded requests", repr(emulator.requests))
    assert_key_was_sent(emulator)
    assert "api_key=[REDACTED]" in exposure.log_text  # httpx logged each URL, with the key redacted


@CLIENTS
@pytest.mark.anyio
async def test_failures_show_the_key_nowhere(
    make_dual: Callable[..., Dual],
    server: EmulatorServer,
    emulator: Emulator,
    exposure: Exposure,
    closed_port_url: str,
) -> None:
    client = make_dual(base_url=server.url, api_key=KEY, retry_policy=FAST, max_retries=0).client

    rejected = client.with_options(api_key=REJECTED_KEY)
    assert type(await failure(exposure, "401", rejected, "generate_text", "hi")) is AuthenticationError
    assert type(await failure(exposure, "401 stream", rejected, "stream_text", "hi")) is AuthenticationError
    assert_key_was_sent(emulator, REJECTED_KEY)

    emulator.inject(faults.status(500))
    assert type(await failure(exposure, "500", client, "generate_text", "hi")) is InternalServerError

    # A service that quotes the key back in its error text.
    emulator.inject(faults.status(400, error=f"bad request: api_key={KEY}; key {KEY} is odd"))
    echoed = await failure(exposure, "echoed key", client, "generate_text", "hi")
    assert type(echoed) is BadRequestError and "[REDACTED]" in str(echoed)

    emulator.inject(faults.slow_first_byte(1.0))
    impatient = client.with_options(timeout=SHORT_TIMEOUT)
    assert type(await failure(exposure, "timeout", impatient, "generate_text", "hi")) is APITimeoutError

    emulator.inject(faults.cut_stream(after_events=2))
    cut = await failure(exposure, "cut", client, "stream_text", "a b c d")
    assert type(cut) is StreamInterruptedError and cut.partial_text

    emulator.inject(faults.reset())
    assert type(await failure(exposure, "reset", client, "generate_audio", "hi")) is APIConnectionError

    exposure.add("recorded requests", repr(emulator.requests))
    assert_key_was_sent(emulator)

    nowhere = client.with_options(base_url=closed_port_url)
    refused = await failure(exposure, "refused", nowhere, "generate_text", "hi")
    assert type(refused) is APIConnectionError
    exposure.add("client repr", repr(client))
    exposure.add("copy repr", repr(nowhere))
    assert "api_key=[REDACTED]" in exposure.log_text


@pytest.mark.anyio
async def test_the_provider_shows_the_key_nowhere(
    server: EmulatorServer, emulator: Emulator, exposure: Exposure, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chat endpoint takes no key, so the provider's key stays in the process: it must not
    # surface through the client copy it makes, its errors or the logs either.
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    monkeypatch.setattr(provider_module, "_shared", {})
    messages = [{"role": "user", "content": "hi"}]

    async def ask(**kwargs: Any) -> list[str]:
        with anyio.fail_after(HANG_GUARD_SECONDS):
            return [piece async for piece in Dynaspark.create_async_generator("", messages, **kwargs)]

    assert (await ask(api_key=KEY))[-1].endswith("You said: hi")
    # Errors that are not retried, so the provider's own (slow) retry policy does not wait.
    emulator.inject(faults.status(400, error=f"bad request: api_key={KEY}"))
    with pytest.raises(BadRequestError) as caught:
        await ask(api_key=KEY)
    exposure.add_error("provider 400", caught.value)
    emulator.inject(faults.slow_stream(1.0))
    with pytest.raises(StreamInterruptedError) as stalled:
        await ask(api_key=KEY, timeout=SHORT_TIMEOUT)
    exposure.add_error("provider stalled", stalled.value)
    for shared in provider_module._shared.values():
        exposure.add("provider client", repr(shared))
        exposure.add("provider copy", repr(shared.with_options(api_key=KEY)))
    exposure.add("recorded requests", repr(emulator.requests))


# --------------------------------------------------------------------------- the CLI


def run_cli(exposure: Exposure, capsys: pytest.CaptureFixture[str], label: str, *argv: str) -> tuple[int, str, str]:
    """`dynaspark <argv>` with stdout and stderr captured, both added to `exposure`."""
    code = main(list(argv))
    captured = capsys.readouterr()
    exposure.add(f"CLI {label} stdout", captured.out)
    exposure.add(f"CLI {label} stderr", captured.err)
    return code, captured.out, captured.err


def test_the_cli_shows_the_key_nowhere(
    server: EmulatorServer,
    emulator: Emulator,
    exposure: Exposure,
    closed_port_url: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    common = ("--api-key", KEY, "--debug", "--base-url", server.url, "--retries", "0")
    cli = functools.partial(run_cli, exposure, capsys)

    code, out, err = cli("text stream", *common, "text", "hello world")
    assert code == 0 and out.strip().endswith("hello world")
    assert "api_key=[REDACTED]" in err  # --debug printed the request line, redacted
    code, out, _ = cli("text json", *common, "--json", "text", "hello")
    assert code == 0 and '"text"' in out
    code, _, _ = cli("image", *common, "image", "a fox", "-o", str(tmp_path / "fox.png"), "--width", "64")
    assert code == 0 and (tmp_path / "fox.png").read_bytes().startswith(b"\x89PNG")
    assert cli("chat", *common, "chat", "hi")[0] == 0

    rejected = ("--api-key", REJECTED_KEY, "--debug", "--base-url", server.url)
    code, _, err = cli("401", *rejected, "text", "hi")
    assert code == 1 and "401" in err
    assert cli("401 json", *rejected, "--json", "text", "hi")[0] == 1

    emulator.inject(faults.status(500), times=2)
    assert cli("500", *common, "text", "hi")[0] == 1
    assert cli("500 json", *common, "--json", "text", "--no-stream", "hi")[0] == 1

    emulator.inject(faults.status(400, error=f"bad request: api_key={KEY}"))
    assert cli("echoed key", *common, "text", "--no-stream", "hi")[0] == 1

    emulator.inject(faults.slow_first_byte(1.0))
    code, _, err = cli("timeout", *common, "--timeout", "0.2", "text", "hi")
    assert code == 1 and "timed out" in err

    emulator.inject(faults.cut_stream(after_events=2))
    code, out, err = cli("cut", *common, "text", "a b c d")
    assert code == 1 and "broke off" in err

    nowhere = ("--api-key", KEY, "--debug", "--base-url", closed_port_url, "--retries", "0")
    code, _, err = cli("refused", *nowhere, "text", "hi")
    assert code == 1 and "connection failed" in err
    assert cli("refused json", *nowhere, "--json", "status")[0] == 1

    assert_key_was_sent(emulator)
    assert_key_was_sent(emulator, REJECTED_KEY)

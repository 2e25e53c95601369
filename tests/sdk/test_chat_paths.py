"""The chat endpoint moved (`/generate_response` -> `/dsai_fuck_u_spammer`): the clients, the
provider and the CLI follow whichever path the emulator serves, over real loopback sockets."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import Dual

from dynaspark_sdk import Client, Dynaspark, InternalServerError, InvalidRequestError, NotFoundError, RetryPolicy, spec
from dynaspark_sdk.cli import main
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

pytestmark = pytest.mark.anyio
FAST = RetryPolicy(initial_delay=0.001, max_delay=0.01, max_wait=5)
NEW, OLD = "/dsai_fuck_u_spammer", "/generate_response"
ANSWER = "[gemini-1.5-flash-8b] You said: hi"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DYNASPARK_API_KEY", "DYNASPARK_BASE_URL", "DYNASPARK_CHAT_PATH"):
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    # One server per test: its URL is new, so nothing a shared client learnt carries over.
    with serve(Emulator()) as running:
        yield running


@pytest.fixture
def dual(make_dual: Callable[..., Dual], server: EmulatorServer) -> Callable[..., Dual]:
    def build(**kwargs: Any) -> Dual:
        return make_dual(base_url=server.url, retry_policy=FAST, timeout=5, **kwargs)

    return build


def chat_posts(emulator: Emulator) -> list[str]:
    """The paths of every POST the emulator received, in order."""
    return [request.path for request in emulator.requests if request.method == "POST"]


def test_the_spec_lists_the_newer_path_first() -> None:
    assert spec.CHAT_PATHS == (NEW, OLD)


# --------------------------------------------------------------------------- both clients


@pytest.mark.parametrize(
    ("served", "expected_posts", "path_in_use"),
    [
        ((NEW, OLD), [NEW, NEW, NEW], NEW),
        ((NEW,), [NEW, NEW, NEW], NEW),
        # One probe of the newer path, then the previous path for good: no second probe per call.
        ((OLD,), [NEW, OLD, OLD, OLD], OLD),
    ],
    ids=["both", "only-new", "only-old"],
)
async def test_chat_follows_the_path_the_service_serves(
    dual: Callable[..., Dual],
    server: EmulatorServer,
    served: tuple[str, ...],
    expected_posts: list[str],
    path_in_use: str,
) -> None:
    server.emulator.chat_paths = served
    client = dual()
    assert client.client.chat_path == NEW
    assert (await client.call("chat", "hi")).text == ANSWER
    assert (await client.call("chat", "hi")).text == ANSWER
    assert await client.collect(client.client.stream_chat("hi")) == [ANSWER]
    assert chat_posts(server.emulator) == expected_posts
    assert client.client.chat_path == path_in_use


async def test_a_conversation_keeps_working_across_the_fallback(
    dual: Callable[..., Dual], server: EmulatorServer
) -> None:
    server.emulator.chat_paths = [OLD]
    client = dual()
    chat = client.client.conversation()
    first = await client.resolve(chat.send("Name a colour."))
    second = await client.resolve(chat.send("Another?"))
    assert first.text.endswith("Name a colour.") and second.text.endswith("Another?")
    assert chat_posts(server.emulator) == [NEW, OLD, OLD]


async def test_the_client_moves_forward_again_when_the_newer_path_starts_answering(
    dual: Callable[..., Dual], server: EmulatorServer
) -> None:
    server.emulator.chat_paths = [OLD]
    client = dual()
    await client.call("chat", "hi")
    assert client.client.chat_path == OLD
    server.emulator.chat_paths = [NEW]  # the previous path is gone now
    server.emulator.clear_requests()
    assert (await client.call("chat", "hi")).text == ANSWER
    assert (await client.call("chat", "hi")).text == ANSWER
    assert chat_posts(server.emulator) == [OLD, NEW, NEW]
    assert client.client.chat_path == NEW


@pytest.mark.parametrize(
    "options",
    # Another API key has a rate-limit window of its own, but the same service and paths.
    [{"max_retries": 0}, {"api_key": "another-key"}],
    ids=["same-key", "another-key"],
)
async def test_with_options_shares_what_the_client_learnt(
    dual: Callable[..., Dual], server: EmulatorServer, options: dict[str, Any]
) -> None:
    server.emulator.chat_paths = [OLD]
    client = dual()
    await client.call("chat", "hi")
    other = Dual(client.kind, client.client.with_options(**options))
    await other.call("chat", "hi")
    assert chat_posts(server.emulator) == [NEW, OLD, OLD]


async def test_no_path_answering_raises_not_found_naming_both(
    dual: Callable[..., Dual], server: EmulatorServer
) -> None:
    server.emulator.chat_paths = []
    client = dual()
    with pytest.raises(NotFoundError) as caught:
        await client.call("chat", "hi")
    assert caught.value.status_code == 404
    assert NEW in str(caught.value) and OLD in str(caught.value)
    assert chat_posts(server.emulator) == [NEW, OLD]
    # Nothing answered, so nothing was learnt: the next call starts from the newest path again.
    assert client.client.chat_path == NEW
    with pytest.raises(NotFoundError):
        await client.collect(client.client.stream_chat("hi"))
    assert chat_posts(server.emulator) == [NEW, OLD, NEW, OLD]


async def test_a_405_counts_as_moved_too(dual: Callable[..., Dual], server: EmulatorServer) -> None:
    # The newer path answering for another method only: 405, as a route of the service would.
    server.emulator.inject(faults.status(405, headers={"allow": "GET"}), path=NEW)
    client = dual()
    assert (await client.call("chat", "hi")).text == ANSWER
    assert chat_posts(server.emulator) == [NEW, OLD]
    assert client.client.chat_path == OLD


async def test_other_errors_do_not_switch_paths(dual: Callable[..., Dual], server: EmulatorServer) -> None:
    server.emulator.inject(faults.status(500), times=3)
    client = dual(max_retries=2)
    with pytest.raises(InternalServerError):
        await client.call("chat", "hi")
    assert chat_posts(server.emulator) == [NEW, NEW, NEW]


async def test_retries_after_the_fallback_stay_on_the_path_that_answers(
    dual: Callable[..., Dual], server: EmulatorServer
) -> None:
    server.emulator.chat_paths = [OLD]
    server.emulator.inject(faults.status(503), path=OLD)
    client = dual(max_retries=2)
    assert (await client.call("chat", "hi")).text == ANSWER
    # One probe of the newer path, then a 503 at the previous one retried there: no second probe.
    assert chat_posts(server.emulator) == [NEW, OLD, OLD]
    assert client.client.chat_path == OLD


# --------------------------------------------------------------------------- pinning


@pytest.mark.parametrize("pinned", [OLD, NEW])
async def test_a_pinned_path_is_the_only_one_used(
    dual: Callable[..., Dual], server: EmulatorServer, pinned: str
) -> None:
    client = dual(chat_path=pinned)
    assert client.client.chat_path == pinned
    assert (await client.call("chat", "hi")).text == ANSWER
    assert await client.collect(client.client.stream_chat("hi")) == [ANSWER]
    assert chat_posts(server.emulator) == [pinned, pinned]


async def test_a_pinned_path_never_falls_back(dual: Callable[..., Dual], server: EmulatorServer) -> None:
    server.emulator.chat_paths = [NEW]
    client = dual(chat_path=OLD)
    with pytest.raises(NotFoundError):
        await client.call("chat", "hi")
    assert chat_posts(server.emulator) == [OLD]


async def test_the_pin_comes_from_the_environment_and_with_options(
    dual: Callable[..., Dual], server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNASPARK_CHAT_PATH", OLD)
    client = dual()
    assert client.client.chat_path == OLD
    await client.call("chat", "hi")
    moved = Dual(client.kind, client.client.with_options(chat_path=NEW))
    await moved.call("chat", "hi")
    assert chat_posts(server.emulator) == [OLD, NEW]


@pytest.mark.parametrize("bad", ["generate_response", "//evil.example/x", "/chat?x=1", "/a b", 42])
def test_a_bad_pin_is_refused_before_anything_is_sent(bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="chat_path"):
        Client(base_url="http://127.0.0.1:9", chat_path=bad)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the DEBUG line


def test_the_switch_is_logged_at_debug_only(server: EmulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    server.emulator.chat_paths = [OLD]
    caplog.set_level(logging.DEBUG, logger="dynaspark_sdk")
    with Client(base_url=server.url, api_key="sk-secret-1234", max_retries=0) as client:
        client.chat("hi")
        client.chat("hi")
    lines = [r.getMessage() for r in caplog.records if r.name == "dynaspark_sdk"]
    assert lines == [f"chat: {NEW} answered 404; trying {OLD}", f"chat: now sent to {OLD}"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "dynaspark_sdk")
    assert "sk-secret-1234" not in caplog.text


# --------------------------------------------------------------------------- provider and CLI


@pytest.mark.parametrize(
    ("served", "endpoint_path", "expected_posts"),
    [((NEW, OLD), NEW, [NEW, NEW]), ((NEW,), NEW, [NEW, NEW]), ((OLD,), OLD, [NEW, OLD, OLD])],
    ids=["both", "only-new", "only-old"],
)
@pytest.mark.parametrize("entry", ["create_async_generator", "create_completion"])
async def test_the_provider_follows_and_reports_the_path_in_api_endpoint(
    server: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    served: tuple[str, ...],
    endpoint_path: str,
    expected_posts: list[str],
    entry: str,
) -> None:
    server.emulator.chat_paths = served
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    monkeypatch.setattr(Dynaspark, "api_endpoint", Dynaspark.api_endpoint)  # restored afterwards
    messages = [{"role": "user", "content": "hi"}]
    for _ in range(2):
        if entry == "create_completion":  # gpt4free's sync entry point, on a sync Client
            pieces = list(Dynaspark.create_completion("gemini-1.5-flash-8b", messages))
        else:
            pieces = [piece async for piece in Dynaspark.create_async_generator("gemini-1.5-flash-8b", messages)]
        assert "".join(pieces) == ANSWER
    assert chat_posts(server.emulator) == expected_posts
    assert Dynaspark.api_endpoint == f"{server.url}{endpoint_path}"


@pytest.mark.parametrize(
    ("served", "expected_posts"),
    [((NEW, OLD), [NEW]), ((NEW,), [NEW]), ((OLD,), [NEW, OLD])],
    ids=["both", "only-new", "only-old"],
)
def test_the_cli_chats_through_whichever_path_is_served(
    server: EmulatorServer, capsys: pytest.CaptureFixture[str], served: tuple[str, ...], expected_posts: list[str]
) -> None:
    server.emulator.chat_paths = served
    assert main(["--base-url", server.url, "chat", "hi"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ANSWER + "\n"
    assert captured.err == ""
    assert chat_posts(server.emulator) == expected_posts


def test_the_cli_shows_the_switch_with_debug_and_takes_the_pin_from_the_environment(
    server: EmulatorServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server.emulator.chat_paths = [OLD]
    assert main(["--base-url", server.url, "--debug", "chat", "hi"]) == 0
    assert f"chat: {NEW} answered 404; trying {OLD}" in capsys.readouterr().err
    monkeypatch.setenv("DYNASPARK_CHAT_PATH", OLD)
    server.emulator.clear_requests()
    assert main(["--base-url", server.url, "chat", "hi"]) == 0
    assert capsys.readouterr().out == ANSWER + "\n"
    assert chat_posts(server.emulator) == [OLD]


@pytest.mark.parametrize("entry", ["create_async_generator", "create_completion"])
async def test_the_providers_api_endpoint_never_shows_a_base_url_password(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    # gpt4free prints api_endpoint in its logs: the password of a base URL must not go with it.
    host = server.url.removeprefix("http://")
    monkeypatch.setenv("DYNASPARK_BASE_URL", f"http://alice:hunter2pw@{host}")
    monkeypatch.setattr(Dynaspark, "api_endpoint", Dynaspark.api_endpoint)  # restored afterwards
    messages = [{"role": "user", "content": "hi"}]
    if entry == "create_completion":
        pieces = list(Dynaspark.create_completion("gemini-1.5-flash-8b", messages))
    else:
        pieces = [piece async for piece in Dynaspark.create_async_generator("gemini-1.5-flash-8b", messages)]
    assert "".join(pieces) == ANSWER
    assert "hunter2pw" not in Dynaspark.api_endpoint
    assert Dynaspark.api_endpoint == f"http://alice:[secure]@{host}{NEW}"

"""Client lifetimes over real sockets: no "Event loop is closed", no unclosed connections.

Each scenario runs with every warning recorded, garbage is collected inside and after the
event loop, and the test fails on any ResourceWarning or RuntimeWarning and on any error.
"""

from __future__ import annotations

import asyncio
import gc
import os
import warnings
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import anyio
import pytest
import trio

from dynaspark_sdk import AsyncClient, Client
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rate_limit=10_000)) as running:
        yield running


def run(backend: str, main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    if backend == "asyncio":
        asyncio.run(main())
    else:
        trio.run(main)


def no_warnings_from(action: Callable[[], None]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        action()
        gc.collect()
        gc.collect()
    bad = [w for w in caught if issubclass(w.category, ResourceWarning | RuntimeWarning)]
    assert not bad, [str(w.message) for w in bad]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_one_async_client_used_from_two_event_loops_in_a_row(server: EmulatorServer, backend: str) -> None:
    client = AsyncClient(base_url=server.url)
    answers: list[str] = []

    async def main() -> None:
        answers.append((await client.chat("hello")).text)
        stream = client.stream_text("a b c")
        answers.append(await stream.until_done())

    def both() -> None:
        run(backend, main)
        run(backend, main)
        assert client._pool.pools() == []  # each loop closed its own connections

    no_warnings_from(both)
    assert len(answers) == 4
    assert answers[0] == answers[2]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_async_client_dropped_without_aclose_leaks_nothing(server: EmulatorServer, backend: str) -> None:
    async def main() -> None:
        client = AsyncClient(base_url=server.url)
        await client.chat("hello")
        del client
        gc.collect()

    no_warnings_from(lambda: run(backend, main))


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_closing_twice_and_using_after_close(server: EmulatorServer, backend: str) -> None:
    async def main() -> None:
        async with AsyncClient(base_url=server.url) as client:
            await client.status()
        await client.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await client.status()
        copy_parent = AsyncClient(base_url=server.url)
        copy = copy_parent.with_options(max_retries=0)
        other_copy = copy_parent.with_options(timeout=3)
        await copy.status()
        await copy.aclose()  # a copy does not close the pool it shares
        await copy_parent.status()
        await copy_parent.aclose()
        with pytest.raises(RuntimeError, match="with_options"):
            await other_copy.status()

    no_warnings_from(lambda: run(backend, main))


def test_a_sync_client_dropped_without_close_leaks_nothing(server: EmulatorServer) -> None:
    def action() -> None:
        client = Client(base_url=server.url)
        client.chat("hello")
        stream = client.stream_text("a b c d")
        next(stream)  # left open on purpose
        del client, stream

    no_warnings_from(action)


def test_sync_close_twice_and_with_options(server: EmulatorServer) -> None:
    client = Client(base_url=server.url)
    copy = client.with_options(timeout=3)
    other_copy = client.with_options(max_retries=0)
    assert copy.status().ok
    copy.close()
    assert client.status().ok
    client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.status()
    with pytest.raises(RuntimeError, match="with_options"):
        other_copy.status()


def test_a_client_refuses_the_wrong_kind_of_http_client_and_a_proxy_beside_one() -> None:
    import httpx

    with pytest.raises(TypeError, match=r"httpx\.Client"):
        Client(http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"httpx\.AsyncClient"):
        AsyncClient(http_client=httpx.Client())  # type: ignore[arg-type]
    with httpx.Client() as http, pytest.raises(ValueError, match="your own http_client"):
        Client(http_client=http, proxy="http://proxy.local:3128")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_slow_first_steps_run_off_the_event_loop(
    server: EmulatorServer, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the CA bundle, the first imports and building the httpx client happen in a
    worker thread, not in the constructor nor on the loop; concurrent first calls share one pool."""
    import threading

    from dynaspark_sdk import _pools, _transport

    seen: list[tuple[str, threading.Thread]] = []
    real_context, real_args = _transport.shared_ssl_context, _transport.http_client_args

    def context() -> Any:
        seen.append(("ssl context", threading.current_thread()))
        return real_context()

    def client_args(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(("httpx client", threading.current_thread()))
        return real_args(*args, **kwargs)

    monkeypatch.setattr(_transport, "shared_ssl_context", context)
    monkeypatch.setattr(_transport, "_warmed", set())  # as in a fresh process
    monkeypatch.setattr(_pools, "http_client_args", client_args)

    async def main() -> None:
        client = AsyncClient(base_url=server.url)
        assert seen == []  # the constructor builds nothing
        answers: list[str] = []

        async def one() -> None:
            answers.append((await client.chat("hello")).text)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(one)
        assert answers == ["[gemini-1.5-flash-8b] You said: hello"] * 5
        assert len(client._pool.pools()) == 1
        await client.aclose()

    no_warnings_from(lambda: run(backend, main))
    assert {what for what, _ in seen} == {"ssl context", "httpx client"}
    assert all(thread is not threading.main_thread() for _, thread in seen), seen


def test_importing_the_sync_client_defers_the_core_to_the_first_client(server: EmulatorServer) -> None:
    """`from dynaspark_sdk import Client` costs little more than `import httpx`: attrs, anyio
    and the generated models load with the first Client, which then works as usual."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from dynaspark_sdk import Client\n"
        "heavy = ('attrs', 'anyio', 'dynaspark_sdk._generated.models', 'dynaspark_sdk._flow')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        f"with Client(base_url={server.url!r}) as client:\n"
        "    print(client.chat('hello').text)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "[gemini-1.5-flash-8b] You said: hello"]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_image_from_a_path_is_read_off_the_event_loop(
    server: EmulatorServer, backend: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """AsyncClient.chat checks an image given as a path (open, read its first bytes) in a
    worker thread, not on the event loop."""
    import threading

    from dynaspark_sdk import _media_files
    from dynaspark_sdk import async_client as async_shell

    readers: list[tuple[str, bool]] = []
    real_prepare = _media_files.prepare_media

    def prepare(media: Any, **kwargs: Any) -> Any:
        if media is not None:
            readers.append((type(media).__name__, threading.current_thread() is threading.main_thread()))
        return real_prepare(media, **kwargs)

    monkeypatch.setattr(async_shell, "prepare_media", prepare)
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))

    async def main() -> None:
        async with AsyncClient(base_url=server.url) as client:
            await client.chat("describe", media=str(image))
            await client.chat("describe", media=image.read_bytes())

    no_warnings_from(lambda: run(backend, main))
    assert readers[0] == ("str", False)
    assert [len(request.files) for request in server.emulator.requests[-2:]] == [1, 1]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_streamed_chat_reads_an_image_path_off_the_event_loop(
    server: EmulatorServer, backend: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """AsyncClient.stream_chat and AsyncConversation.stream check an image given as a path
    (open it, read its first bytes) when the stream starts, in a worker thread: not at the
    call, and not on the event loop's thread."""
    import threading

    from dynaspark_sdk import _media_files

    readers: list[int] = []
    real_from_path = _media_files._from_path

    def from_path(*args: Any) -> Any:
        readers.append(threading.get_ident())
        return real_from_path(*args)

    monkeypatch.setattr(_media_files, "_from_path", from_path)
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    loop_thread: list[int] = []
    texts: list[str] = []

    async def main() -> None:
        loop_thread.append(threading.get_ident())
        async with AsyncClient(base_url=server.url) as client:
            stream = client.stream_chat("describe", media=str(image))
            assert readers == []
            texts.append(await stream.until_done())
            conversation_stream = client.conversation().stream("describe", media=image)
            assert len(readers) == 1
            texts.append(await conversation_stream.until_done())

    no_warnings_from(lambda: run(backend, main))
    assert len(readers) == 2
    assert loop_thread[0] not in readers
    assert texts == ["[gemini-1.5-flash-8b] You said: describe (with a 72-byte image/png image)"] * 2
    assert [len(request.files) for request in server.emulator.requests[-2:]] == [1, 1]


# A plain application: it imports the SDK (and its event loop's library) and nothing else, then
# records every module imported while the loop runs its first calls, and on which thread.
_FIRST_CALLS_PROGRAM = """
import sys, threading

class Recorder:
    def __init__(self):
        self.on = False
        self.seen = []

    def find_spec(self, name, path=None, target=None):
        if self.on:
            self.seen.append((name, threading.current_thread() is threading.main_thread()))
        return None

recorder = Recorder()
sys.meta_path.insert(0, recorder)
import {library}
from dynaspark_sdk import AsyncClient, Dynaspark

URL = {url!r}

async def main():
    recorder.on = True
    client = AsyncClient(base_url=URL)
    await client.chat("hello")
    await client.generate_text("hello")
    if {provider}:
        import os
        os.environ["DYNASPARK_BASE_URL"] = URL
        messages = [{{"role": "user", "content": "hello"}}]
        async for _ in Dynaspark.create_async_generator(model="gemini-1.5-flash-8b", messages=messages):
            pass
    recorder.on = False
    await client.aclose()

{library}.run(main{parens})
print(sorted({{name for name, on_loop in recorder.seen if on_loop}}))
print(len([name for name, on_loop in recorder.seen if not on_loop]) > 0)
print(sorted({{name for name, _ in recorder.seen if name.split(".")[0] in ("aiohttp", "yarl", "multidict")}}))
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_first_calls_import_nothing_on_the_event_loop(server: EmulatorServer, backend: str) -> None:
    """A new AsyncClient's first calls and the drop-in provider's first call, in a fresh
    interpreter that imported only the SDK and its loop's library, import nothing on the
    event loop's thread: anyio's backend (which anyio 4.16 loads on first use) and the rest
    load in the warm-up's worker thread, off the loop (issue 22, item 3)."""
    import subprocess
    import sys

    program = _FIRST_CALLS_PROGRAM.format(
        library=backend,
        url=server.url,
        provider=backend == "asyncio",  # the provider's async path is gpt4free's, on asyncio
        parens="()" if backend == "asyncio" else "",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYNASPARK_")}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    on_loop, off_loop, aiohttp_modules = done.stdout.splitlines()
    assert on_loop == "[]"
    assert off_loop == "True"  # the recorder saw the warm-up's imports: it was on
    # The provider sends over aiohttp on asyncio; aiohttp loaded with the provider, as the
    # application started, not in a worker thread during the first call (whose imports hold
    # the GIL in stretches the loop waits out).
    assert aiohttp_modules == "[]"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_threads_switch_fast_from_the_first_calls_worker_thread_start(
    server: EmulatorServer, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's thread waits for the GIL while the first call's worker thread starts and
    warms up: the switch interval is 0.1 ms from before that thread starts (not 5 ms, which
    the loop would wait out), and is put back once the first call has its pool."""
    import sys

    from dynaspark_sdk import _pools, _transport

    seen: list[float] = []
    real_build = _pools.AsyncPool._build

    def build(pool: _pools.AsyncPool, library: str) -> Any:
        seen.append(sys.getswitchinterval())  # as the worker thread starts, before its warm-up
        return real_build(pool, library)

    monkeypatch.setattr(_transport, "_warmed", set())  # as in a fresh process
    monkeypatch.setattr(_pools.AsyncPool, "_build", build)
    before = sys.getswitchinterval()

    async def main() -> None:
        async with AsyncClient(base_url=server.url) as client:
            assert (await client.chat("hello")).text == "[gemini-1.5-flash-8b] You said: hello"
            assert sys.getswitchinterval() == before

    no_warnings_from(lambda: run(backend, main))
    assert seen == [pytest.approx(0.0001)]
    assert sys.getswitchinterval() == before

"""`Dynaspark` inside gpt4free's own client code: `g4f.client.Client` / `AsyncClient` and the
legacy `g4f.ChatCompletion`, streaming and not, against the emulator over loopback and respx.

gpt4free is not a dependency of the SDK: scripts/_g4f_venvs.sh runs this module once in a venv
with g4f 0.5.2.0 and once with 8.8.6 (the main pytest run leaves it out, see pyproject.toml).
g4f's client is asyncio-only, so the async calls here run under `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import respx
from conftest import BASE_URL
from wire import PNG, form_of, json_answer, multipart_of

from dynaspark_sdk import BadRequestError, Dynaspark, ModelNotSupportedError
from dynaspark_sdk.integrations import gpt4free as provider_module
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve

with warnings.catch_warnings():
    # g4f 0.5.2.0 subclasses aiohttp's ClientSession, which today's aiohttp warns about on import.
    warnings.simplefilter("ignore", DeprecationWarning)
    import g4f
    import g4f.cookies
    from g4f.client import AsyncClient as G4FAsyncClient
    from g4f.client import Client as G4FClient

MESSAGES = [{"role": "user", "content": "Hello there"}]
HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "first"},
    {"role": "assistant", "content": "one"},
    {"role": "user", "content": "second"},
]


def test_the_g4f_version_under_test() -> None:
    # scripts/_g4f_venvs.sh names the version each venv must hold; a wrong install fails here.
    wanted = os.environ.get("DYNASPARK_G4F_VERSION")
    assert wanted, "run this module through scripts/_g4f_venvs.sh"
    assert version("g4f") == wanted


def test_importing_the_sdk_and_its_provider_imports_no_g4f() -> None:
    code = "import sys, dynaspark_sdk; dynaspark_sdk.Dynaspark; print(sorted(m for m in sys.modules if 'g4f' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator()) as running:
        yield running


@pytest.fixture(autouse=True)
def g4f_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # g4f asks PyPI for its latest version on first use, and 8.8.6 writes usage files into its
    # cookies folder: neither may leave this machine's temp folder.
    monkeypatch.setattr(g4f.debug, "version_check", False)
    monkeypatch.setattr(g4f.cookies.CookiesConfig, "cookies_dir", str(tmp_path))
    monkeypatch.delenv("DYNASPARK_API_KEY", raising=False)
    monkeypatch.delenv("G4F_PROXY", raising=False)


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    # As outside the tests (tests/conftest.py turns it off for respx): over the loopback
    # socket, the async calls go through aiohttp, which gpt4free always installs.
    monkeypatch.setattr(provider_module, "_over_aiohttp", True)
    emu = server.emulator
    emu.clear_faults()
    emu.clear_requests()
    emu.reset_rate_limits()
    return emu


def _answer(model: str, said: str) -> str:
    return f"[{model}] You said: {said}"


# --------------------------------------------------------------------------- the four calls


def test_sync_client(emulator: Emulator) -> None:
    completion = G4FClient(provider=Dynaspark).chat.completions.create(model="gemini-2.0-flash", messages=MESSAGES)
    assert completion.choices[0].message.content == _answer("gemini-2.0-flash-lite", "Hello there")
    assert emulator.requests[-1].fields == {"user_input": "Hello there", "ai_model": "gemini-2.0-flash-lite"}


def test_sync_client_streaming(emulator: Emulator) -> None:
    chunks = list(
        G4FClient(provider=Dynaspark).chat.completions.create(model="gemini-2.0-flash", messages=MESSAGES, stream=True)
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == _answer("gemini-2.0-flash-lite", "Hello there")
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len(emulator.requests) == 1


def test_async_client(emulator: Emulator) -> None:
    async def main() -> Any:
        return await G4FAsyncClient(provider=Dynaspark).chat.completions.create(
            model="gemini-2.0-flash", messages=MESSAGES
        )

    completion = asyncio.run(main())
    assert completion.choices[0].message.content == _answer("gemini-2.0-flash-lite", "Hello there")


def test_async_calls_go_through_aiohttp(emulator: Emulator) -> None:
    transports: list[str] = []

    async def main() -> Any:
        completion = await G4FAsyncClient(provider=Dynaspark).chat.completions.create(
            model="gemini-2.0-flash", messages=MESSAGES
        )
        (client,) = provider_module._shared.values()
        transports.extend(type(http._transport).__name__ for http in client._pool.pools())
        return completion

    completion = asyncio.run(main())
    assert completion.choices[0].message.content == _answer("gemini-2.0-flash-lite", "Hello there")
    assert transports == ["AiohttpTransport"]


def test_async_client_streaming(emulator: Emulator) -> None:
    async def main() -> list[Any]:
        stream = G4FAsyncClient(provider=Dynaspark).chat.completions.create(
            model="gemini-1.5-flash-8b", messages=HISTORY, stream=True
        )
        return [chunk async for chunk in stream]

    chunks = asyncio.run(main())
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == _answer("gemini-1.5-flash-8b", "second")
    # The history is folded as gpt4free's provider folded it.
    assert emulator.requests[-1].fields["user_input"] == (
        "System: Be brief.\nUser: first\nAssistant: one\nUser: second\nAssistant:"
    )


def test_legacy_chat_completion(emulator: Emulator) -> None:
    text = g4f.ChatCompletion.create(model="gemini-1.5-flash-8b", provider=Dynaspark, messages=MESSAGES)
    assert text == _answer("gemini-1.5-flash-8b", "Hello there")
    pieces = list(
        g4f.ChatCompletion.create(model="gemini-1.5-flash-8b", provider=Dynaspark, messages=MESSAGES, stream=True)
    )
    assert "".join(pieces) == text
    assert all(isinstance(piece, str) for piece in pieces)


def test_legacy_chat_completion_async(emulator: Emulator) -> None:
    async def main() -> Any:
        return await g4f.ChatCompletion.create_async(model="gemini-2.0-flash", provider=Dynaspark, messages=MESSAGES)

    assert asyncio.run(main()) == _answer("gemini-2.0-flash-lite", "Hello there")


# --------------------------------------------------------------------------- media, errors, models


def test_media_reaches_the_service_as_the_file_part(emulator: Emulator) -> None:
    client = G4FClient(provider=Dynaspark)
    completion = client.chat.completions.create(model="gemini-2.0-flash", messages=MESSAGES, media=[(PNG, "chart.png")])
    assert completion.choices[0].message.content.endswith(f"(with a {len(PNG)}-byte image/png image)")
    upload = emulator.requests[-1].files[0]
    assert (upload.field, upload.filename, upload.content_type, upload.data) == ("file", "chart.png", "image/png", PNG)

    # gpt4free's `image=` / `image_name=` arguments become the same media list.
    client.chat.completions.create(model="gemini-2.0-flash", messages=MESSAGES, image=PNG, image_name="b.png")
    assert emulator.requests[-1].files[0].filename == "b.png"


def test_media_through_the_async_client(emulator: Emulator) -> None:
    async def main() -> Any:
        return await G4FAsyncClient(provider=Dynaspark).chat.completions.create(
            model="gemini-1.5-flash", messages=MESSAGES, media=[(PNG, "a.png")], stream=False
        )

    completion = asyncio.run(main())
    assert completion.choices[0].message.content.startswith("[gemini-1.5-flash-8b] You said: Hello there (with a")
    assert emulator.requests[-1].files[0].data == PNG


def test_service_errors_are_raised_on_every_path(emulator: Emulator) -> None:
    emulator.inject(faults.status(400, error="user_input is too long"), times=4)
    with pytest.raises(BadRequestError, match="user_input is too long"):
        G4FClient(provider=Dynaspark).chat.completions.create(model="gemini-2.0-flash", messages=MESSAGES)
    with pytest.raises(BadRequestError):
        list(
            G4FClient(provider=Dynaspark).chat.completions.create(
                model="gemini-2.0-flash", messages=MESSAGES, stream=True
            )
        )

    async def main() -> Any:
        return await G4FAsyncClient(provider=Dynaspark).chat.completions.create(
            model="gemini-2.0-flash", messages=MESSAGES
        )

    with pytest.raises(BadRequestError):
        asyncio.run(main())
    with pytest.raises(BadRequestError):
        g4f.ChatCompletion.create(model="gemini-1.5-flash-8b", provider=Dynaspark, messages=MESSAGES)
    assert len(emulator.requests) == 4


def test_unknown_models_raise_before_anything_is_sent(emulator: Emulator) -> None:
    with pytest.raises(ModelNotSupportedError, match=r"gemini-2\.0-flash-lite"):
        G4FClient(provider=Dynaspark).chat.completions.create(model="claude-3", messages=MESSAGES)

    async def main() -> Any:
        return await G4FAsyncClient(provider=Dynaspark).chat.completions.create(model="gpt-4o", messages=MESSAGES)

    with pytest.raises(ModelNotSupportedError):
        asyncio.run(main())
    with pytest.raises(ModelNotSupportedError):
        g4f.ChatCompletion.create(model="gpt-4o", provider=Dynaspark, messages=MESSAGES)
    assert emulator.requests == []


def test_models_and_description_as_gpt4free_lists_them() -> None:
    client = G4FClient(provider=Dynaspark)
    if hasattr(client.models, "get_all"):  # 8.8.6; 0.5.2.0's ClientModels has no listing
        assert client.models.get_all() == list(Dynaspark.models)
    assert Dynaspark.get_dict() == {"name": "Dynaspark", "url": Dynaspark.url, "label": "Dynaspark"}


# --------------------------------------------------------------------------- the sync path's resources


def _open_loops() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed())


def test_sync_calls_from_a_script_and_from_inside_a_running_loop(server: EmulatorServer, emulator: Emulator) -> None:
    loops, threads = _open_loops(), threading.active_count()
    accepted = server.connections.accepted
    client = G4FClient(provider=Dynaspark)
    for _ in range(3):
        client.chat.completions.create(model="gemini-2.0-flash", messages=MESSAGES)

    async def inside_a_loop() -> Any:
        # What a Jupyter cell does: the sync client while an event loop runs.
        return client.chat.completions.create(model="gemini-2.0-flash", messages=MESSAGES)

    completion = asyncio.run(inside_a_loop())
    assert completion.choices[0].message.content == _answer("gemini-2.0-flash-lite", "Hello there")
    assert g4f.ChatCompletion.create(model="gemini-1.5-flash-8b", provider=Dynaspark, messages=MESSAGES)
    # Five calls, one shared blocking client, one keep-alive connection; no loop or thread left.
    assert len(emulator.requests) == 5
    assert server.connections.accepted - accepted <= 1
    assert _open_loops() == loops
    assert threading.active_count() == threads
    assert [key for key in provider_module._shared_sync if key[0] == server.url] == [(server.url, None)]


# --------------------------------------------------------------------------- README


def test_the_readme_example_runs(server: EmulatorServer, emulator: Emulator, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (block,) = [block for block in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "from g4f" in block]
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DYNASPARK_")}
    env |= {"DYNASPARK_BASE_URL": server.url, "NO_PROXY": "127.0.0.1,localhost"}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    answer = _answer("gemini-2.0-flash-lite", "Hello!")
    assert result.stdout == f"{answer}\n{answer}\n"
    assert len(emulator.requests) == 2


# --------------------------------------------------------------------------- the bytes on the wire (respx)


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    monkeypatch.setenv("DYNASPARK_BASE_URL", BASE_URL)
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def test_the_wire_through_gpt4free(mock: respx.MockRouter) -> None:
    route = mock.post(f"{BASE_URL}/dsai_fuck_u_spammer").mock(return_value=json_answer({"response": "fine"}))
    text = g4f.ChatCompletion.create(model="", provider=Dynaspark, messages=HISTORY)
    assert text == "fine"
    assert form_of(route.calls.last.request) == {
        "user_input": "System: Be brief.\nUser: first\nAssistant: one\nUser: second\nAssistant:",
        "ai_model": Dynaspark.get_model(""),
    }

    async def main() -> Any:
        return await G4FAsyncClient(provider=Dynaspark).chat.completions.create(
            model="gemini-2.0-flash", messages=MESSAGES, image=PNG, image_name="c.png"
        )

    assert asyncio.run(main()).choices[0].message.content == "fine"
    parts = multipart_of(route.calls.last.request)
    assert parts["file"] == {"value": PNG, "filename": "c.png", "content_type": "image/png"}
    assert parts["ai_model"]["value"] == b"gemini-2.0-flash-lite"

"""The SDK in a real Jupyter kernel (ipykernel, driven by nbclient as a notebook front-end),
against the emulator over loopback. A kernel runs every cell with an asyncio event loop
already running: the blocking clients must work there without one of their own, and the
async ones with top-level `await` / `async for`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

#: (cell source, what the cell's value displays as, in Jupyter's text/plain repr)
pytestmark = pytest.mark.slow  # a Jupyter kernel


CELLS: list[tuple[str, str | None]] = [
    ("from dynaspark_sdk import AsyncClient, Client, Dynaspark", None),
    # The blocking client, as a script would use it, inside the kernel's running loop.
    ("client = Client()\nclient.chat('hello').text", "'[gemini-1.5-flash-8b] You said: hello'"),
    ("[piece for piece in client.stream_text('one two')]", "['[openai] ', 'You ', 'said: ', 'one ', 'two']"),
    # The async client with top-level await, as notebooks are written.
    ("aclient = AsyncClient()\n(await aclient.chat('again')).text", "'[gemini-1.5-flash-8b] You said: again'"),
    (
        "async with aclient.stream_text('three four') as stream:\n"
        "    pieces = [piece async for piece in stream]\n"
        "pieces",
        "['[openai] ', 'You ', 'said: ', 'three ', 'four']",
    ),
    (
        "conversation = aclient.conversation()\n"
        "await conversation.send('first')\n"
        "(await conversation.send('second')).text",
        "'[gemini-1.5-flash-8b] You said: second'",
    ),
    # The drop-in provider, async (as in the seed) and blocking (as gpt4free's sync client calls it).
    (
        "messages = [{'role': 'user', 'content': 'hi'}]\n"
        "[piece async for piece in Dynaspark.create_async_generator('gemini-2.0-flash', messages)]",
        "['[gemini-2.0-flash-lite] You said: hi']",
    ),
    ("list(Dynaspark.create_completion('gemini-2.0-flash', messages))", "['[gemini-2.0-flash-lite] You said: hi']"),
    ("client.close()\nawait aclient.aclose()", None),
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator()) as running:
        yield running


def run_notebook(cells: list[str]) -> list[list[dict[str, Any]]]:
    """Execute the cells in a fresh python3 kernel (it inherits this process's environment);
    each cell's outputs as nbformat dicts."""
    code = [nbformat.v4.new_code_cell(source) for source in cells]  # type: ignore[no-untyped-call]
    notebook = nbformat.v4.new_notebook(cells=code)  # type: ignore[no-untyped-call]
    NotebookClient(notebook, kernel_name="python3", timeout=60, allow_errors=False).execute()
    return [json.loads(json.dumps(cell.outputs)) for cell in notebook.cells]


@pytest.mark.usefixtures("loopback_only")
def test_the_clients_and_the_provider_in_a_jupyter_kernel(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    monkeypatch.setenv("PYTHONWARNINGS", "error")  # a warning in the kernel fails the test
    outputs = run_notebook([source for source, _ in CELLS])
    for (source, shown), cell_outputs in zip(CELLS, outputs, strict=True):
        # Nothing on stderr (no warning, no traceback), and the value the cell ends with.
        assert [output for output in cell_outputs if output.get("name") == "stderr"] == [], source
        results = [output["data"]["text/plain"] for output in cell_outputs if output["output_type"] == "execute_result"]
        assert results == ([shown] if shown is not None else []), source
    prompts = [
        request.fields.get("user_input") or request.params.get("user_input") for request in server.emulator.requests
    ]
    assert prompts[:4] == ["hello", "one two", "again", "three four"]

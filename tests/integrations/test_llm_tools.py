"""llm's tools (`--functions`, `-T`, `chain(tools=...)`) and schemas (`--schema`) through the
plugin, with the real, pinned llm against the emulator playing a model over loopback:
including a wrong answer the repair fixes and one it cannot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import llm
import pytest
from click.testing import CliRunner, Result
from llm.cli import cli

from dynaspark_sdk.integrations import llm_plugin
from dynaspark_sdk.testing import Emulator, EmulatorServer, serve

ADD = "def add(a: int, b: int) -> int:\n    'Add two numbers.'\n    return a + b"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator()) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Emulator:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    monkeypatch.delenv("DYNASPARK_API_KEY", raising=False)
    monkeypatch.setattr(llm_plugin, "_clients", {})
    emu = server.emulator
    emu.clear_requests()
    emu.clear_answers()
    emu.reset_rate_limits()
    return emu


def run(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) is ok, result.output
    return result


def test_functions_round_trip_with_a_repaired_call(emulator: Emulator) -> None:
    emulator.script_answers(
        [
            '{"name": "add", "arguments": {"a": 1, "b": "two"}}',  # wrong: the repair quotes why
            'Sure.\n```json\n{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}\n```',
            "The sum is 3.",
        ]
    )
    result = run("-m", "dynaspark/gemini-2.0-flash", "--functions", ADD, "--td", "What is 1+2?")
    # Prose before the call passes through as it streams; the call itself is held and run.
    assert result.output == "Sure.\n\nTool call: add({'a': 1, 'b': 2})\n  3\n\nThe sum is 3.\n"
    prompts = [request.fields["user_input"] for request in emulator.requests]
    assert len(prompts) == 3
    assert prompts[0].startswith("System: You can call functions.")
    assert '"name":"add","description":"Add two numbers."' in prompts[0]
    assert prompts[1].endswith(
        'Assistant: {"name": "add", "arguments": {"a": 1, "b": "two"}}\n'
        "User: Your answer cannot be used:\n- arguments of add: $.b: 'two' is not of type 'integer'\n"
        "Answer again, exactly in the format described in the system message.\nAssistant:"
    )
    assert "\nTool: result of add (call " in prompts[2] and prompts[2].endswith("): 3\nAssistant:")


def test_a_call_the_repair_cannot_fix_is_an_error_line(emulator: Emulator) -> None:
    emulator.script_answers(['{"name": "sub", "arguments": {}}', '{"name": "mul", "arguments": {}}'])
    result = run("-m", "dynaspark/gemini-2.0-flash", "--functions", ADD, "1+2?", ok=False)
    assert result.output == (
        "Error: the model's answer is not a valid tool call after 2 attempts: "
        "there is no function 'mul'; the functions are add\n"
    )
    assert len(emulator.requests) == 2


def test_a_plain_answer_with_tools_is_printed_as_it_is(emulator: Emulator) -> None:
    emulator.script_answers(["No need for a tool: hello!"])
    assert run("-m", "dynaspark/gemini-2.0-flash", "--functions", ADD, "Hi").output == "No need for a tool: hello!\n"


@pytest.mark.parametrize("model", ["dynaspark/gemini-2.0-flash", "dynaspark/text"])
def test_schema_answers_are_the_json_alone(emulator: Emulator, model: str) -> None:
    emulator.script_answers(['{"name": "Ann"}', 'Here:\n```json\n{"name": "Ann", "age": 30}\n```'])
    result = run("-m", model, "--schema", "name, age int", "Invent a person")
    assert json.loads(result.output) == {"name": "Ann", "age": 30}
    assert len(emulator.requests) == 2
    if model == "dynaspark/text":
        assert emulator.requests[0].params["json"] == "true"
        assert "Answer with one JSON value that fits this JSON Schema" in emulator.requests[0].params["system"]


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_chains_with_tools_in_the_python_api(emulator: Emulator) -> None:
    emulator.script_answers(['{"name": "add", "arguments": {"a": 20, "b": 22}}', "It is 42."], endpoint="text")
    assert llm.get_model("dynaspark/text").chain("20+22?", tools=[add]).text() == "It is 42."

    async def asynchronous() -> str:
        emulator.script_answers(['{"name": "add", "arguments": {"a": 1, "b": 1}}', "Two."], endpoint="chat")
        chain = llm.get_async_model("dynaspark/gemini-2.0-flash").chain("1+1?", tools=[add])
        return await chain.text()

    assert asyncio.run(asynchronous()) == "Two."
    assert "Tool: result of add (call " in emulator.requests[-1].fields["user_input"]

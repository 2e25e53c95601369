"""The llm plugin driven through llm's own command line (the real, pinned `llm` package, found
through the entry point this project installs), against the emulator over loopback. Each test
has its own LLM_USER_PATH: its own keys.json and log database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import llm
import pytest
from click.testing import CliRunner, Result
from llm.cli import cli
from wire import PNG

from dynaspark_sdk import Client, Dynaspark
from dynaspark_sdk.integrations import llm_plugin
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults, serve


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with serve(Emulator(rejected_keys={"revoked-key-123"})) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Emulator:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path / "llm"))
    monkeypatch.setenv("DYNASPARK_BASE_URL", server.url)
    monkeypatch.delenv("DYNASPARK_API_KEY", raising=False)
    # The plugin's shared clients keep rate-limit state: each test starts with fresh ones.
    monkeypatch.setattr(llm_plugin, "_clients", {})
    emu = server.emulator
    emu.clear_faults()
    emu.clear_requests()
    emu.reset_rate_limits()
    return emu


def run(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) is ok, result.output
    return result


def logged() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(run("logs", "-n", "0", "--json").output)
    return rows


def test_the_plugin_is_found_through_its_entry_point() -> None:
    found = {point.name: point.value for point in entry_points(group="llm")}
    assert found["dynaspark"] == "dynaspark_sdk.integrations.llm_plugin"
    assert "dynaspark-sdk" in run("plugins").output


def test_models_lists_every_chat_model_and_alias_of_the_spec(emulator: Emulator) -> None:
    listed = [line.split(": ", 1)[1] for line in run("models").output.splitlines() if ": dynaspark/" in line]
    names = [*Dynaspark.models, *(alias for alias in Dynaspark.model_aliases if alias not in Dynaspark.models)]
    assert listed == [f"dynaspark/{name}" for name in names] + ["dynaspark/text"]
    assert llm_plugin.chat_model_names() == names
    assert emulator.requests == []


def test_prompt_continue_and_the_log(emulator: Emulator) -> None:
    assert run("-m", "dynaspark/gemini-2.0-flash", "Hello").output == "[gemini-2.0-flash-lite] You said: Hello\n"
    assert run("-c", "And again?").output == "[gemini-2.0-flash-lite] You said: And again?\n"
    assert [request.fields for request in emulator.requests] == [
        {"user_input": "Hello", "ai_model": "gemini-2.0-flash-lite"},
        {
            "user_input": "User: Hello\nAssistant: [gemini-2.0-flash-lite] You said: Hello\n"
            "User: And again?\nAssistant:",
            "ai_model": "gemini-2.0-flash-lite",
        },
    ]
    first, second = logged()
    assert (first["model"], first["prompt"], first["response"]) == (
        "dynaspark/gemini-2.0-flash",
        "Hello",
        "[gemini-2.0-flash-lite] You said: Hello",
    )
    assert first["resolved_model"] == "dynaspark/gemini-2.0-flash-lite"
    assert second["conversation_id"] == first["conversation_id"]
    assert second["response"] == "[gemini-2.0-flash-lite] You said: And again?"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_system_prompt_folded_as_gpt4free_folds_it(emulator: Emulator, mode: str) -> None:
    extra = ["--async"] if mode == "async" else []
    output = run("-m", "dynaspark/gemini-1.5-flash-8b", "-s", "Be brief.", "hi", *extra).output
    assert output == "[gemini-1.5-flash-8b] You said: hi\n"
    assert emulator.requests[-1].fields["user_input"] == "System: Be brief.\nUser: hi\nAssistant:"
    assert logged()[-1]["system"] == "Be brief."


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_one_image_attachment(emulator: Emulator, tmp_path: Path, mode: str) -> None:
    picture = tmp_path / "chart.png"
    picture.write_bytes(PNG)
    extra = ["--async"] if mode == "async" else []
    output = run("-m", "dynaspark/gemini-2.0-flash", "what is it?", "-a", str(picture), *extra).output
    assert output == f"[gemini-2.0-flash-lite] You said: what is it? (with a {len(PNG)}-byte image/png image)\n"
    upload = emulator.requests[-1].files[0]
    assert (upload.field, upload.filename, upload.content_type, upload.data) == ("file", "chart.png", "image/png", PNG)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_image_url_of_the_emulator_as_attachment(emulator: Emulator, server: EmulatorServer, mode: str) -> None:
    """llm asks the URL's content type with HEAD before it sends anything."""
    with Client(base_url=server.url) as client:
        image = client.generate_image("a fox", width=64, height=64)
        data = image.download()
    extra = ["--async"] if mode == "async" else []
    output = run("-m", "dynaspark/gemini-2.0-flash", "what is it?", "-a", image.url, *extra).output
    assert output.endswith(f"(with a {len(data)}-byte image/png image)\n")
    assert "HEAD" in [request.method for request in emulator.requests]
    assert emulator.requests[-1].files[0].data == data


def test_a_second_attachment_is_refused_before_sending(emulator: Emulator, tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    picture.write_bytes(PNG)
    result = run("-m", "dynaspark/gemini-2.0-flash", "two?", "-a", str(picture), "-a", str(picture), ok=False)
    assert result.output == "Error: Dynaspark takes one image per prompt, not 2: attach a single image\n"
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not an image")
    result = run("-m", "dynaspark/gemini-2.0-flash", "this?", "-a", str(text_file), ok=False)
    assert result.output.startswith("Error: This model does not support attachments of type 'text/plain'")
    assert emulator.requests == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_text_model_streams_with_options(emulator: Emulator, mode: str) -> None:
    extra = ["--async"] if mode == "async" else []
    options = ["-o", "temperature", "0.7", "-o", "seed", "3", "-o", "top_p", "0.5", "-o", "model", "mistral"]
    output = run("-m", "dynaspark/text", *options, "-s", "Rhyme.", "a haiku about rain", *extra).output
    assert output == "[mistral] You said: a haiku about rain\n"
    assert emulator.requests[-1].params == {
        "user_input": "a haiku about rain",
        "system": "Rhyme.",
        "model": "mistral",
        "temperature": "0.7",
        "top_p": "0.5",
        "seed": "3",
        "stream": "true",
    }
    assert logged()[-1]["options_json"] == {"temperature": 0.7, "seed": 3, "top_p": 0.5, "model": "mistral"}


def test_text_model_arrives_in_pieces(emulator: Emulator) -> None:
    response = llm.get_model("dynaspark/text").prompt("one two three")
    assert list(response) == ["[openai] ", "You ", "said: ", "one ", "two ", "three"]


def test_text_model_without_streaming_logs_usage_and_json(emulator: Emulator) -> None:
    output = run("-m", "dynaspark/text", "-o", "json", "1", "--no-stream", "tell me").output
    assert json.loads(output) == {"model": "openai", "you_said": "tell me"}
    assert emulator.requests[-1].params == {"user_input": "tell me", "json": "true"}
    row = logged()[-1]
    assert (row["input_tokens"], row["output_tokens"]) == (2, 5)
    assert row["resolved_model"] == "openai"


def test_options_out_of_the_specs_range_are_refused_before_sending(emulator: Emulator) -> None:
    result = run("-m", "dynaspark/text", "-o", "temperature", "7", "hi", ok=False)
    assert result.output == "Error: temperature must be between 0 and 3, not 7.0\n"
    result = run("-m", "dynaspark/text", "-o", "top_p", "-1", "hi", ok=False)
    assert result.output.startswith("Error: top_p must be between 0 and 1")
    assert emulator.requests == []


def test_keys_from_llm_and_the_environment_none_required(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    run("-m", "dynaspark/text", "no key")
    monkeypatch.setenv("DYNASPARK_API_KEY", "env-key-456")
    run("-m", "dynaspark/text", "env key")
    run("keys", "set", "dynaspark", "--value", "stored-key-789")
    run("-m", "dynaspark/text", "stored key")  # llm's stored key wins over the variable
    run("-m", "dynaspark/text", "--key", "explicit-key-000", "explicit key")
    keys = [request.api_key for request in emulator.requests]
    assert keys == [None, "env-key-456", "stored-key-789", "explicit-key-000"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failure_is_one_clean_error_line(emulator: Emulator, mode: str) -> None:
    extra = ["--async"] if mode == "async" else []
    emulator.inject(faults.status(400, error="user_input is too long"))
    result = run("-m", "dynaspark/gemini-2.0-flash", "hi", *extra, ok=False)
    assert result.output.startswith("Error: ") and result.output.endswith(" user_input is too long\n")
    assert result.output.count("\n") == 1

    result = run("-m", "dynaspark/text", "--key", "revoked-key-123", "hi", *extra, ok=False)
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1
    assert "revoked-key-123" not in result.output
    assert "Traceback" not in result.output
    assert logged() == []  # nothing half-done lands in the log


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("model_id", ["dynaspark/gemini-2.0-flash", "dynaspark/text"])
def test_prompts_of_the_python_api_share_one_connection(
    emulator: Emulator, server: EmulatorServer, mode: str, model_id: str
) -> None:
    """llm's Python API runs many prompts in one process: they reuse the plugin's client (and
    its connection), each sending its own key (the text API takes one; chat sends none)."""
    texts, keys = ["one", "two", "three"], [None, "key-of-two", None]
    before = server.connections.accepted
    if mode == "sync":
        model = llm.get_model(model_id)
        answers = [model.prompt(text, key=key).text() for text, key in zip(texts, keys, strict=True)]
    else:
        async_model = llm.get_async_model(model_id)

        async def main() -> list[str]:
            return [await async_model.prompt(text, key=key).text() for text, key in zip(texts, keys, strict=True)]

        answers = asyncio.run(main())
    answered_by = "gemini-2.0-flash-lite" if model_id != "dynaspark/text" else "openai"
    assert answers == [f"[{answered_by}] You said: {text}" for text in texts]
    sent_keys = [request.api_key for request in emulator.requests]
    assert sent_keys == (keys if model_id == "dynaspark/text" else [None, None, None])
    assert server.connections.accepted - before == 1

"""The gateway from the tools the README sends its users to: LangChain's `ChatOpenAI` (the real,
pinned langchain-openai) and llm's OpenAI-compatible models configured by the README's own
`extra-openai-models.yaml`, against the emulator as upstream, all over loopback."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_openai import ChatOpenAI
from llm.cli import cli
from pydantic import SecretStr

from dynaspark_sdk import AsyncClient
from dynaspark_sdk.gateway import create_app, serve_in_thread
from dynaspark_sdk.testing import Emulator, EmulatorServer

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
#: Where the README's examples expect `dynaspark gateway` to listen.
README_URL = "http://127.0.0.1:8000/v1"

pytestmark = pytest.mark.usefixtures("loopback_only")


def readme_block(language: str, containing: str) -> str:
    """The README's one code block in `language` that contains `containing`."""
    blocks: list[str] = re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)
    [block] = [b for b in blocks if containing in b]
    assert README_URL in block
    return block


def chat_openai(gateway: str, model: str, **options: Any) -> ChatOpenAI:
    """LangChain's OpenAI chat model pointed at the gateway (any key: it has none set)."""
    return ChatOpenAI(base_url=gateway, api_key=SecretStr("unused"), model=model, max_retries=0, **options)


@pytest.fixture
def emulator(upstream: EmulatorServer) -> Emulator:
    upstream.emulator.clear_requests()
    return upstream.emulator


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[str]:
    """The gateway's /v1 URL."""
    with serve_in_thread(create_app(AsyncClient(base_url=upstream.url, max_retries=0), log=lambda _: None)) as running:
        yield running.url


def test_the_readme_s_langchain_example_prints_the_answer(gateway: str, emulator: Emulator, tmp_path: Path) -> None:
    script = tmp_path / "langchain_example.py"
    script.write_text(readme_block("py", "langchain_openai").replace(README_URL, gateway), encoding="utf-8")
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[gemini-2.0-flash-lite] You said: Hello!\n"
    assert [request.fields["user_input"] for request in emulator.requests] == ["Hello!"]


def test_langchain_invokes_and_streams_both_kinds_of_model(gateway: str, emulator: Emulator) -> None:
    chat = chat_openai(gateway, "gemini-2.0-flash")
    text = chat_openai(gateway, "text/openai", temperature=0.7)
    assert chat.invoke("Hello!").content == "[gemini-2.0-flash-lite] You said: Hello!"
    streamed = [chunk.content for chunk in chat.stream("Hi there")]
    assert "".join(str(piece) for piece in streamed) == "[gemini-2.0-flash-lite] You said: Hi there"
    pieces = [str(chunk.content) for chunk in text.stream([("system", "Be terse."), ("user", "one two")])]
    assert [piece for piece in pieces if piece] == ["[openai] ", "You ", "said: ", "one ", "two"]
    assert emulator.requests[-1].params == {
        "user_input": "one two",
        "system": "Be terse.",
        "model": "openai",
        "temperature": "0.7",
        "stream": "true",
    }


def test_langchain_s_async_calls(gateway: str, emulator: Emulator) -> None:
    chat = chat_openai(gateway, "gemini-2.0-flash")
    text = chat_openai(gateway, "text/mistral")

    async def main() -> tuple[str, str]:
        answer = await chat.ainvoke("async hello")
        pieces = [str(chunk.content) async for chunk in text.astream("streamed")]
        return str(answer.content), "".join(pieces)

    assert asyncio.run(main()) == ("[gemini-2.0-flash-lite] You said: async hello", "[mistral] You said: streamed")


def test_langchain_gets_the_gateway_s_errors_as_openai_errors(gateway: str, emulator: Emulator) -> None:
    import openai

    unknown = chat_openai(gateway, "gpt-4o")
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        unknown.invoke("hi")
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("model_id", "answer"),
    [("dynaspark-gemini", "[gemini-2.0-flash-lite] You said: Hello!"), ("dynaspark-text", "[openai] You said: Hello!")],
)
def test_llm_with_the_readme_s_extra_openai_models(
    gateway: str, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_id: str, answer: str
) -> None:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path))
    config = readme_block("yaml", "model_id: dynaspark-gemini")
    (tmp_path / "extra-openai-models.yaml").write_text(config.replace(README_URL, gateway), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "set", "dynaspark-gateway", "--value", "anything"]).exit_code == 0
    for extra in ([], ["--no-stream"]):
        done = runner.invoke(cli, ["-m", model_id, *extra, "Hello!"], catch_exceptions=False)
        assert done.exit_code == 0, done.output
        assert done.output == f"{answer}\n"
    prompts = [{**request.params, **request.fields}["user_input"] for request in emulator.requests]
    assert prompts == ["Hello!", "Hello!"]

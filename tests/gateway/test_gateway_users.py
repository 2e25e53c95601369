"""The gateway from the tools the README sends its users to: LangChain's `ChatOpenAI` (the real,
pinned langchain-openai, chat completions and its Responses API mode), llm's OpenAI-compatible
models configured by the README's own `extra-openai-models.yaml`, litellm and openai-agents,
against the emulator as upstream, all over loopback."""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
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

# slow: LangChain, litellm and llm, each imported and driven for real
pytestmark = [pytest.mark.usefixtures("loopback_only"), pytest.mark.slow]
#: PNG bytes of one pixel.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC")


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


def test_langchain_with_max_tokens_and_with_the_responses_api(gateway: str, emulator: Emulator) -> None:
    limited = chat_openai(gateway, "gemini-2.0-flash", max_tokens=100)
    assert limited.invoke("Hello!").content == "[gemini-2.0-flash-lite] You said: Hello!"
    responses = chat_openai(gateway, "gemini-2.0-flash", use_responses_api=True, max_tokens=100)
    answer = responses.invoke([("system", "Be brief."), ("user", "Hi")])
    assert answer.text == "[gemini-2.0-flash-lite] You said: Hi"
    assert answer.response_metadata["model_name"] == limited.invoke("x").response_metadata["model_name"]
    assert "".join(chunk.text for chunk in responses.stream("streamed")) == "[gemini-2.0-flash-lite] You said: streamed"
    assert emulator.requests[-1].form[0] == ("user_input", "streamed")


def readme_llm_config(gateway: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LLM_USER_PATH", str(tmp_path))
    config = readme_block("yaml", "model_id: dynaspark-gemini")
    (tmp_path / "extra-openai-models.yaml").write_text(config.replace(README_URL, gateway), encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["keys", "set", "dynaspark-gateway", "--value", "anything"]).exit_code == 0
    return runner


def test_llm_with_temperature_and_an_image_through_the_readme_s_yaml(
    gateway: str, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = readme_llm_config(gateway, tmp_path, monkeypatch)
    done = runner.invoke(cli, ["-m", "dynaspark-gemini", "-o", "temperature", "0.5", "Hello!"], catch_exceptions=False)
    assert (done.exit_code, done.output) == (0, "[gemini-2.0-flash-lite] You said: Hello!\n")
    done = runner.invoke(cli, ["-m", "dynaspark-text", "-o", "temperature", "0.5", "Hi"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert emulator.requests[-1].params["temperature"] == "0.5"
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG)
    done = runner.invoke(cli, ["-m", "dynaspark-gemini", "-a", str(image), "What is it?"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "You said: What is it?" in done.output
    assert [file.data for file in emulator.requests[-1].files] == [PNG]


def _loggers() -> list[logging.Logger]:
    manager = logging.Logger.manager
    return [logging.getLogger(), *(lg for lg in manager.loggerDict.values() if isinstance(lg, logging.Logger))]


@pytest.fixture
def litellm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """litellm, with its model cost map read from the package (it would fetch it from GitHub);
    the clients it keeps for later calls are closed afterwards. Importing litellm reconfigures
    other packages' loggers (httpx's to WARNING, with a filter of its own): they are put back
    afterwards, or the tests that read httpx's log lines would fail after this one in the same
    pytest-xdist worker."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    saved = [(lg, lg.level, list(lg.filters), lg.propagate, lg.disabled, list(lg.handlers)) for lg in _loggers()]
    import litellm

    yield litellm
    for logger, level, filters, propagate, disabled, handlers in saved:
        logger.setLevel(level)
        logger.filters[:] = filters
        logger.handlers[:] = handlers
        logger.propagate, logger.disabled = propagate, disabled
    cache = litellm.in_memory_llm_clients_cache
    for client in list(cache.cache_dict.values()):
        close = getattr(client, "close", None)
        if callable(close) and not inspect.iscoroutinefunction(close):
            close()
    cache.flush_cache()


def test_litellm_completion_and_responses_with_max_tokens(gateway: str, emulator: Emulator, litellm: Any) -> None:
    common = {"model": "openai/gemini-2.0-flash", "api_base": gateway, "api_key": "unused"}
    answer = litellm.completion(messages=[{"role": "user", "content": "Hello!"}], max_tokens=20, **common)
    assert answer.choices[0].message.content == "[gemini-2.0-flash-lite] You said: Hello!"
    response = litellm.responses(input="Again", max_output_tokens=20, **common)
    assert response.output[0].content[0].text == "[gemini-2.0-flash-lite] You said: Again"
    assert [request.form[0] for request in emulator.requests] == [("user_input", "Hello!"), ("user_input", "Again")]


def test_openai_agents_runs_a_simple_agent(gateway: str, emulator: Emulator) -> None:
    import openai
    from agents import Agent, OpenAIResponsesModel, Runner, set_tracing_disabled

    set_tracing_disabled(True)

    async def main() -> Any:
        async with openai.AsyncOpenAI(base_url=gateway, api_key="unused", max_retries=0) as client:
            model = OpenAIResponsesModel("gemini-2.0-flash", client)
            agent = Agent(name="Greeter", instructions="Greet briefly.", model=model)
            return await Runner.run(agent, "Hello agent")

    result = asyncio.run(main())
    assert result.final_output == "[gemini-2.0-flash-lite] You said: Hello agent"
    assert emulator.requests[-1].form[0] == ("user_input", "System: Greet briefly.\nUser: Hello agent\nAssistant:")

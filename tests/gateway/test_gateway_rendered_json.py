"""A chat completion's JSON and a chat stream's events, rendered from their parts (a stream's
shared parts made once per stream), are byte for byte OpenAI's `chat.completion` and
`chat.completion.chunk` objects as Starlette's JSONResponse renders JSON (compact, UTF-8,
nothing escaped that JSON lets through)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynaspark_sdk.integrations.gateway._shapes.chat_completions import DONE, ChunkEvents, chat_completion_json

IDENT, CREATED = "chatcmpl-0123456789abcdef01234567", 1_765_000_000
TEXTS = ["hello", "", 'a "quote", a \\ and\na newline\t', "é ü 漢字 😀", "\x00\x1f\x7f\u2028</script>"]
MODELS = ["gemini-1.5-flash-8b", 'text/ünï"cødé\\']


def rendered(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def sent(model: str, choices: list[dict[str, Any]], **extra: Any) -> bytes:
    chunk = {"id": IDENT, "object": "chat.completion.chunk", "created": CREATED, "model": model, "choices": choices}
    return b"data: " + rendered({**chunk, **extra}) + b"\n\n"


def choice(delta: dict[str, Any], finish_reason: str | None = None) -> list[dict[str, Any]]:
    return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("text", TEXTS)
def test_each_chunk_is_openais_chunk_object_as_json(model: str, text: str) -> None:
    events = ChunkEvents(IDENT, CREATED, model)
    assert events.first(text) == sent(model, choice({"role": "assistant", "content": text}))
    assert events.text(text) == sent(model, choice({"content": text}))
    call = {"index": 1, "id": "call_x", "type": "function", "function": {"name": "f", "arguments": text}}
    assert events.delta({"tool_calls": [call]}) == sent(model, choice({"tool_calls": [call]}))
    for reason in ("stop", "tool_calls"):
        assert events.finish(reason) == sent(model, choice({}, reason))
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert events.usage() == sent(model, [], usage=usage)


def test_a_stream_of_them_reads_back_as_its_chunks() -> None:
    events = ChunkEvents(IDENT, CREATED, MODELS[1])
    body = events.first("one ") + events.text("two") + events.finish("stop") + events.usage() + DONE
    lines = body.decode().split("\n\n")
    assert lines[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-2]]
    assert [c["choices"][0]["delta"] if c["choices"] else c["usage"] for c in chunks] == [
        {"role": "assistant", "content": "one "},
        {"content": "two"},
        {},
        {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    ]
    assert {c["model"] for c in chunks} == {MODELS[1]}


def completion(model: str, message: dict[str, Any], finish_reason: str, usage: dict[str, int]) -> bytes:
    choices = [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}]
    return rendered(
        {
            "id": IDENT,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": choices,
            "usage": usage,
        }
    )


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("text", TEXTS)
def test_a_whole_completion_is_openais_object_as_json(model: str, text: str) -> None:
    zeros = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    message = {"role": "assistant", "content": text, "refusal": None}
    assert chat_completion_json(IDENT, CREATED, model, text) == completion(model, message, "stop", zeros)
    counts = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    assert chat_completion_json(IDENT, CREATED, model, text, counts) == completion(model, message, "stop", counts)
    # With tool calls: they are the message, its content null, the finish reason "tool_calls".
    calls = [{"id": "call_x", "type": "function", "function": {"name": "f", "arguments": text}}]
    with_calls = {"role": "assistant", "content": None, "refusal": None, "tool_calls": calls}
    assert chat_completion_json(IDENT, CREATED, model, text, None, calls) == completion(
        model, with_calls, "tool_calls", zeros
    )

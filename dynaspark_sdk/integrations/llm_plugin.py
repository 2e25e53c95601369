"""Dynaspark's models in simonw's `llm` command line (and its Python API).

Installed with `pip install 'dynaspark-sdk[llm]'`; llm finds it through the `llm` entry-point
group, so there is nothing to configure:

    llm models                                   # dynaspark/<model> for every chat model and alias
    llm -m dynaspark/gemini-2.0-flash "Hello"
    llm -c "And again?"                          # continues: the history is folded into the prompt
    llm -m dynaspark/gemini-2.0-flash -s "Be brief." "Describe it" -a chart.png
    llm -m dynaspark/text -o temperature 0.7 -o seed 3 "A haiku"   # the public text API, streamed
    llm -m dynaspark/gemini-2.0-flash -T llm_time "What time is it?"  # tools (prompted, see below)
    llm -m dynaspark/gemini-2.0-flash --schema "name, age int" "Invent a person"

A key set with `llm keys set dynaspark` (or the `DYNASPARK_API_KEY` environment variable, or
`--key`) is sent; none is required. `DYNASPARK_BASE_URL` points every model elsewhere (an
emulator, a proxy). Failures are `llm.ModelError`s, which llm prints as one `Error: ...` line.

Each model has a sync (`llm.KeyModel`) and an async (`llm.AsyncKeyModel`) class; both read the
whole chain from `prompt.messages` (llm 0.36), so `llm -c`, `-s` and llm's Python
conversations need nothing else. Prompts share one client per `DYNASPARK_BASE_URL` (each
with its own key), so the prompts of llm's Python API reuse its connections; an async
model's connections are closed when its event loop ends.

Tools (`llm -T`, `--functions`, `model.chain(tools=...)`) and schemas (`--schema`) go through
the SDK's prompted tool calls and structured output (`tools=`, `response_format=`): the model is
told the reply format, its answer is parsed, checked, repaired once, and handed to llm as tool
calls (the text holding a call is not printed) or as the JSON text that passed the schema.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar, TypeVar, cast

import llm
from llm.parts import AttachmentPart, TextPart, ToolCallPart, ToolResultPart
from pydantic import ConfigDict, Field

from dynaspark_sdk import AsyncClient, Client, Dynaspark, DynasparkError

__all__ = [
    "AsyncChatModel",
    "AsyncTextModel",
    "ChatModel",
    "TextModel",
    "chat_model_names",
    "register_models",
]

#: The name `llm keys set dynaspark` stores the key under, and the variable read after it.
KEY_ALIAS = "dynaspark"
KEY_ENV_VAR = "DYNASPARK_API_KEY"
#: The image types the chat endpoint accepts (the service sniffs the first bytes).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
TEXT_MODEL_ID = "dynaspark/text"

_C = TypeVar("_C", Client, AsyncClient)
_lock = threading.Lock()
# (client class, DYNASPARK_BASE_URL) -> the client every prompt with that setting shares.
_clients: dict[tuple[type, str | None], Any] = {}


def _client(kind: type[_C], key: str | None) -> _C:
    """The shared `kind` client for the base URL in the environment now, as a copy that sends
    `key` (none when None). A copy shares its pool: closing it closes nothing."""
    base_url = os.environ.get("DYNASPARK_BASE_URL") or None
    with _lock:
        client = _clients.get((kind, base_url))
        if client is None:
            client = _clients[(kind, base_url)] = kind(base_url=base_url)
    copy: _C = client.with_options(api_key=key)
    return copy


def chat_model_names() -> list[str]:
    """Every chat model and alias the spec lists, in its order (aliases not already models last)."""
    names = list(Dynaspark.models)
    names += [alias for alias in Dynaspark.model_aliases if alias not in names]
    return names


@llm.hookimpl
def register_models(register: Any) -> None:
    """llm's hook: `dynaspark/<name>` for each chat model and alias, and `dynaspark/text`."""
    for name in chat_model_names():
        register(ChatModel(name), AsyncChatModel(name))
    register(TextModel(), AsyncTextModel())


# --------------------------------------------------------------------------- prompt -> SDK call (no I/O)


def chat_messages(prompt: llm.Prompt) -> list[dict[str, Any]]:
    """The whole chain llm keeps in `prompt.messages` as OpenAI-style messages for the SDK.

    Only text parts carry text (llm's reasoning parts stay out); an assistant's tool calls
    become OpenAI's `tool_calls`, each tool result a `role: "tool"` message. The SDK folds the
    list into one prompt as gpt4free did.
    """
    messages: list[dict[str, Any]] = []
    for message in prompt.messages:
        text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
        calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
        results = [p for p in message.parts if isinstance(p, ToolResultPart)]
        if calls:
            listed = [
                {
                    "id": call.tool_call_id or f"call_{index}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
                }
                for index, call in enumerate(calls)
            ]
            messages.append({"role": "assistant", "content": text or None, "tool_calls": listed})
        elif results:
            for result in results:
                output = result.output if result.exception is None else f"error: {result.exception}"
                messages.append({"role": "tool", "tool_call_id": result.tool_call_id or result.name, "content": output})
        else:
            messages.append({"role": message.role, "content": text})
    return messages


def structured_arguments(prompt: llm.Prompt) -> dict[str, Any]:
    """The SDK's `tools=` and `response_format=` for llm's tools and `--schema` (none without)."""
    arguments: dict[str, Any] = {}
    tools = [tool for tool in prompt.tools if isinstance(tool, llm.Tool)]
    if tools:
        arguments["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description or "",
                    "parameters": tool.input_schema or {"type": "object", "properties": {}},
                },
            }
            for tool in tools
        ]
    if prompt.schema:
        arguments["response_format"] = prompt.schema
    return arguments


def hand_over_calls(response: llm.Response | llm.AsyncResponse, calls: Any) -> None:
    """The SDK's tool calls, given to llm (which runs them and prompts again with the results)."""
    for call in calls:
        response.add_tool_call(llm.ToolCall(name=call.name, arguments=call.arguments, tool_call_id=call.id))


def chat_media(prompt: llm.Prompt) -> object:
    """The one image of this turn as the SDK takes media; None without one.

    The service takes one image per request and keeps no history, so only the current
    turn's attachment is sent; a second one is refused rather than dropped.
    """
    messages = prompt.messages
    current = messages[-1].parts if messages else []
    attachments = [part.attachment for part in current if isinstance(part, AttachmentPart) and part.attachment]
    if not attachments:
        return None
    if len(attachments) > 1:
        raise llm.ModelError(f"Dynaspark takes one image per prompt, not {len(attachments)}: attach a single image")
    attachment = attachments[0]
    if attachment.content:
        return [(attachment.content, None)]
    if attachment.path:
        return [(attachment.path, os.path.basename(attachment.path))]
    return attachment.url  # the SDK fetches http(s) images itself


def _text_arguments(prompt: llm.Prompt) -> dict[str, Any]:
    options = cast(TextOptions, prompt.options)
    return {
        "model": options.model,
        "temperature": options.temperature,
        "top_p": options.top_p,
        "presence_penalty": options.presence_penalty,
        "frequency_penalty": options.frequency_penalty,
        "seed": options.seed,
        "json": bool(options.json_mode),
        "private": options.private,
        "referrer": options.referrer,
    }


def _model_error(exc: DynasparkError) -> llm.ModelError:
    # The SDK's messages never hold the key; llm prints this as `Error: <message>`.
    return llm.ModelError(str(exc))


# --------------------------------------------------------------------------- models


class _Keyed:
    """A key from `--key`, `llm keys set dynaspark` or `DYNASPARK_API_KEY`; none is required."""

    needs_key: str | None = KEY_ALIAS
    key_env_var: str | None = KEY_ENV_VAR
    is_async: ClassVar[bool] = False

    def get_key(self, explicit_key: str | None = None) -> str | None:
        # llm's own get_key raises when no key is found; the service needs none.
        return llm.get_key(explicit_key=explicit_key, key_alias=KEY_ALIAS, env_var=KEY_ENV_VAR)


class _ChatSpec(_Keyed):
    can_stream: bool = True
    supports_tools: bool = True
    supports_schema: bool = True
    attachment_types: set[str] | frozenset[str] = IMAGE_TYPES

    def __init__(self, name: str) -> None:
        self.name = name
        self.model_id = f"dynaspark/{name}"

    def __str__(self) -> str:
        return f"Dynaspark chat{' (async)' if self.is_async else ''}: {self.model_id}"

    def _resolved(self, response: llm.Response | llm.AsyncResponse, model: str | None) -> None:
        # An alias answers as its target (gemini-2.0-flash -> gemini-2.0-flash-lite): log that.
        if model and model != self.name:
            response.set_resolved_model(f"dynaspark/{model}")


class ChatModel(_ChatSpec, llm.KeyModel):
    """`dynaspark/<name>`: the chat endpoint, one image per prompt."""

    def execute(
        self,
        prompt: llm.Prompt,
        stream: bool,
        response: llm.Response,
        conversation: llm.Conversation | None,
        key: str | None,
    ) -> Iterator[str]:
        messages, media, structured = chat_messages(prompt), chat_media(prompt), structured_arguments(prompt)
        try:
            client = _client(Client, key)
            with client.stream_chat(messages, model=self.name, media=media, **structured) as answer:
                self._resolved(response, answer.model)
                yield from answer
            hand_over_calls(response, answer.tool_calls)
        except DynasparkError as exc:
            raise _model_error(exc) from exc


class AsyncChatModel(_ChatSpec, llm.AsyncKeyModel):
    """`dynaspark/<name>` for llm's async API."""

    is_async = True

    async def execute(  # type: ignore[override]  # an async generator, as llm declares it
        self,
        prompt: llm.Prompt,
        stream: bool,
        response: llm.AsyncResponse,
        conversation: llm.AsyncConversation | None,
        key: str | None,
    ) -> AsyncIterator[str]:
        messages, media, structured = chat_messages(prompt), chat_media(prompt), structured_arguments(prompt)
        try:
            client = _client(AsyncClient, key)
            async with client.stream_chat(messages, model=self.name, media=media, **structured) as answer:
                self._resolved(response, answer.model)
                async for piece in answer:
                    yield piece
            hand_over_calls(response, answer.tool_calls)
        except DynasparkError as exc:
            raise _model_error(exc) from exc


class TextOptions(llm.KeyModel.Options):
    """The public text API's parameters; the SDK checks each against the spec's range before sending."""

    # `-o json 1` on the command line; llm re-validates the options by their field names.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    model: str | None = Field(default=None, description="Text model of the public API (the service's default if unset)")
    temperature: float | None = Field(default=None, description="Sampling temperature (the spec's range is checked)")
    top_p: float | None = Field(default=None, description="Nucleus sampling probability mass")
    presence_penalty: float | None = Field(default=None, description="Penalty for tokens already present")
    frequency_penalty: float | None = Field(default=None, description="Penalty by how often a token appeared")
    seed: int | None = Field(default=None, description="Seed for reproducible answers")
    json_mode: bool | None = Field(default=None, alias="json", description="Answer in JSON")
    private: bool | None = Field(default=None, description="Keep the answer out of the service's public feed")
    referrer: str | None = Field(default=None, description="Referrer to report to the service")


class _TextSpec(_Keyed):
    model_id: str = TEXT_MODEL_ID
    can_stream: bool = True
    supports_tools: bool = True
    supports_schema: bool = True
    Options = TextOptions

    def __str__(self) -> str:
        return f"Dynaspark text API{' (async)' if self.is_async else ''}: {self.model_id}"


class TextModel(_TextSpec, llm.KeyModel):
    """`dynaspark/text`: the public text API, streamed as it is written."""

    def execute(
        self,
        prompt: llm.Prompt,
        stream: bool,
        response: llm.Response,
        conversation: llm.Conversation | None,
        key: str | None,
    ) -> Iterator[str]:
        messages, arguments = chat_messages(prompt), {**_text_arguments(prompt), **structured_arguments(prompt)}
        try:
            client = _client(Client, key)
            if stream:
                with client.stream_text(messages, **arguments) as pieces:
                    yield from pieces
                hand_over_calls(response, pieces.tool_calls)
                return
            answer = client.generate_text(messages, **arguments)
            _record(response, answer.model, answer.usage)
            hand_over_calls(response, answer.tool_calls)
            if not answer.tool_calls:
                yield answer.text
        except DynasparkError as exc:
            raise _model_error(exc) from exc


class AsyncTextModel(_TextSpec, llm.AsyncKeyModel):
    """`dynaspark/text` for llm's async API."""

    is_async = True

    async def execute(  # type: ignore[override]  # an async generator, as llm declares it
        self,
        prompt: llm.Prompt,
        stream: bool,
        response: llm.AsyncResponse,
        conversation: llm.AsyncConversation | None,
        key: str | None,
    ) -> AsyncIterator[str]:
        messages, arguments = chat_messages(prompt), {**_text_arguments(prompt), **structured_arguments(prompt)}
        try:
            client = _client(AsyncClient, key)
            if stream:
                async with client.stream_text(messages, **arguments) as pieces:
                    async for piece in pieces:
                        yield piece
                hand_over_calls(response, pieces.tool_calls)
                return
            answer = await client.generate_text(messages, **arguments)
            _record(response, answer.model, answer.usage)
            hand_over_calls(response, answer.tool_calls)
            if not answer.tool_calls:
                yield answer.text
        except DynasparkError as exc:
            raise _model_error(exc) from exc


def _record(response: llm.Response | llm.AsyncResponse, model: str | None, usage: Any) -> None:
    """Token counts and the model that answered, for llm's log."""
    if usage is not None:
        response.set_usage(input=usage.prompt_tokens, output=usage.completion_tokens)
    if model:
        response.set_resolved_model(model)

"""`/v1/responses`, the request: checked into a `ResponsesRequest`, whose `plan()` (with the
stored history of `previous_response_id`) is the same `ChatPlan` a chat completion sends.

`input` is a string or a list of message items (`{"role", "content"}`, `type` "message" or
none), content a string or `input_text` / `input_image` parts (an assistant's `output_text`
and `refusal` too, as clients send earlier answers back), and the `function_call` /
`function_call_output` items of a tool round trip, which become the chat shape's assistant
`tool_calls` and `tool` messages (the SDK folds them into the prompt). Images go through the
same check as a chat completion's (`messages.image_part`); `tools`, `tool_choice`,
`parallel_tool_calls` and `text.format` through chat completions' (`tools.structured_options`).
No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from dynaspark_sdk import ToolCall

from .chat_completions import CHAT_TARGET, TEXT_TARGET, ChatPlan, target
from .errors import GatewayError, bad_request
from .messages import ROLES, image_part, join_text, message
from .parameters import Policies, boolean, object_body, string
from .response_objects import encode, message_id_of, string_json
from .tools import structured_options

__all__ = ["ResponsesRequest", "parse_responses", "text_turn", "text_turn_json"]

#: What a response object reports of its request, with OpenAI's defaults.
_ECHOED: Mapping[str, Any] = {
    "temperature": 1.0,
    "top_p": 1.0,
    "max_output_tokens": None,
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "truncation": "disabled",
    "user": None,
    "metadata": {},
    "reasoning": None,
    "service_tier": None,
    "background": False,
}
_TEXT_FORMAT: Mapping[str, Any] = {"format": {"type": "text"}}
#: The members `_ECHOED` and the default `text` add to a response object's JSON.
_DEFAULT_ECHO_JSON = encode({**_ECHOED, "text": _TEXT_FORMAT})[1:-1]
#: The whole echo of a request that sets none of it, by `store`.
_DEFAULT_ECHOES_JSON = {
    store: encode(
        {"instructions": None, "previous_response_id": None, "store": store, **_ECHOED, "text": _TEXT_FORMAT}
    )[1:-1]
    for store in (False, True)
}


@attrs.define  # not frozen: a frozen class's __init__ costs three times as much, on every call
class ResponsesRequest:
    """A checked `/v1/responses` request (never changed once made).

    `chat` is the call for the service without instructions or history (`plan()` adds them),
    its messages the input as chat messages for the SDK; `items` the same input as
    `input_items` lists it (`listed_items()` gives them ids, when they are stored), but for a
    string: `input_text` (the common case, rendered faster). `echoed` is what the request set
    of the fields a response object reports (`echo` has them all).
    """

    chat: ChatPlan
    items: list[dict[str, Any]]
    instructions: str | None
    previous_response_id: str | None
    store: bool
    echoed: dict[str, Any]
    input_text: str | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The input, as chat messages for the SDK."""
        return self.chat.messages

    @property
    def echo(self) -> dict[str, Any]:
        """What the response object reports of the request, OpenAI's defaults where it set nothing."""
        head = {"instructions": self.instructions, "previous_response_id": self.previous_response_id}
        return {**head, "store": self.store, **_ECHOED, "text": _TEXT_FORMAT, **self.echoed}

    def echo_json(self) -> str:
        """`echo` as JSON members (no braces), for `response_json`."""
        if self.echoed:
            return encode(self.echo)[1:-1]
        if self.instructions is None and self.previous_response_id is None:
            return _DEFAULT_ECHOES_JSON[self.store]
        instructions = "null" if self.instructions is None else string_json(self.instructions)
        previous = "null" if self.previous_response_id is None else string_json(self.previous_response_id)
        store = "true" if self.store else "false"
        return f'"instructions":{instructions},"previous_response_id":{previous},"store":{store},{_DEFAULT_ECHO_JSON}'

    def listed_items(self, response: str) -> list[dict[str, Any]]:
        """The input items as stored and listed, each with an id of its own: the response's
        (`response`, its id), numbered (an item's own id wins)."""
        base = message_id_of(response)
        items = self.items if self.input_text is None else _string_items(self.input_text)
        return [{"id": f"{base}{index:04x}", **item} for index, item in enumerate(items)]

    def stored_json(
        self, response: str, text: str, calls: Sequence[ToolCall] = (), text_json: str | None = None
    ) -> tuple[str, str]:
        """What the store keeps of the response `response` (its id) besides the object, as
        JSON: the listed input items, and the turn (the input and the answer, `text` and
        `calls`, as chat messages). `text_json` is `text` as JSON, if the caller has it."""
        if self.input_text is not None and not calls:  # (the same JSON, rendered from its parts)
            return text_turn_json(response, self.input_text, text, text_json)
        answer: dict[str, Any] = {"role": "assistant", "content": text}
        if calls:  # the calls, for the function_call_output items of the next request to answer
            answer = {"role": "assistant", "content": text or None, "tool_calls": [c.to_openai() for c in calls]}
        return encode(self.listed_items(response)), encode([*self.messages, answer])

    def plan(self, history: Sequence[dict[str, Any]]) -> ChatPlan:
        """The call for the service: the instructions as a system message, then the stored
        conversation (`history`, without its instructions, as OpenAI does), then the input."""
        chat = self.chat
        if not (self.instructions or history):  # (most requests)
            return chat
        system = [{"role": "system", "content": self.instructions}] if self.instructions else []
        return ChatPlan(
            chat.model,
            [*system, *history, *chat.messages],
            chat.stream,
            text_model=chat.text_model,
            text_options=chat.text_options,
            ignored=chat.ignored,
            structured=chat.structured,
        )


def text_turn(response: str, said: str, answered: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The input items and the turn of the response `response` (its id) to a string input,
    `said`, answered with text only, `answered`: what `ResponsesRequest.stored_json` renders,
    as objects."""
    item = {"id": message_id_of(response) + "0000", **_string_items(said)[0]}  # as `listed_items` numbers it
    return [item], [{"role": "user", "content": said}, {"role": "assistant", "content": answered}]


def text_turn_json(response: str, said: str, answered: str, answered_json: str | None = None) -> tuple[str, str]:
    """`text_turn(...)` as JSON, rendered from its parts (`answered_json`: `answered` as JSON,
    if the caller has it)."""
    said_json = string_json(said)
    answered_json = string_json(answered) if answered_json is None else answered_json
    item = message_id_of(response) + "0000"
    return (
        f'[{{"id":"{item}","type":"message","role":"user","status":"completed",'
        f'"content":[{{"type":"input_text","text":{said_json}}}]}}]',
        f'[{{"role":"user","content":{said_json}}},{{"role":"assistant","content":{answered_json}}}]',
    )


def _invalid(where: str, text: str, code: str = "invalid_value") -> GatewayError:
    return bad_request(f"Invalid '{where}': {text}", param=where, code=code)


def _part(part: object, where: str, role: str, images: bool, what: str) -> tuple[str | None, dict[str, Any] | None]:
    """One content part: (its text, or its image for the SDK)."""
    if not isinstance(part, dict):
        raise _invalid(where, f"a content part must be an object, not {type(part).__name__}")
    kind = part.get("type")
    texts = ("input_text",) if role != "assistant" else ("output_text", "input_text", "refusal")
    if kind in texts:
        key = "refusal" if kind == "refusal" else "text"
        text = part.get(key)
        if not isinstance(text, str):
            raise _invalid(f"{where}.{key}", "must be a string")
        return text, None
    if kind == "input_image" and role != "assistant":
        if part.get("file_id") is not None:
            raise _invalid(f"{where}.file_id", "files are not served here; send the image as image_url")
        return None, image_part(part.get("image_url"), part.get("detail"), f"{where}.image_url", images, what)
    shown = repr(kind) if isinstance(kind, str) else "no type"
    allowed = " and ".join(repr(t) for t in (*texts, *(() if role == "assistant" else ("input_image",))))
    raise _invalid(where, f"a {role} message's part with {shown} cannot be sent; it takes {allowed}")


def _listed_part(text: str | None, image: dict[str, Any] | None, detail: object, role: str) -> dict[str, Any]:
    if image is not None:
        shown = detail if detail in ("low", "high", "auto", "original") else "auto"
        return {"type": "input_image", "image_url": image["image_url"]["url"], "detail": shown, "file_id": None}
    if role == "assistant":
        return {"type": "output_text", "text": text, "annotations": []}
    return {"type": "input_text", "text": text}


def _field(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise _invalid(f"{where}.{key}", "must be a string", code="invalid_type")
    return value


def _tool_item(item: Mapping[str, Any], kind: str, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A `function_call` (the model's call, sent back) or a `function_call_output` (its result):
    (the chat message for the SDK, the item as listed)."""
    call_id = _field(item, "call_id", where)
    kept = {key: item[key] for key in ("id",) if isinstance(item.get(key), str)}
    if kind == "function_call":
        name, arguments = _field(item, "name", where), _field(item, "arguments", where)
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments or "{}"}}
        listed = {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
        return {"role": "assistant", "content": None, "tool_calls": [call]}, {**kept, **listed, "status": "completed"}
    output = item.get("output")
    if isinstance(output, list):  # input_text parts
        texts = [
            _part(part, f"{where}.output[{i}]", "tool", False, "a function's output")[0]
            for i, part in enumerate(output)
        ]
        output = join_text([text for text in texts if text is not None])
    if not isinstance(output, str):
        raise _invalid(f"{where}.output", "must be a string or an array of input_text parts", code="invalid_type")
    listed = {"type": "function_call_output", "call_id": call_id, "output": output, "status": "completed"}
    return {"role": "tool", "tool_call_id": call_id, "content": output}, {**kept, **listed}


def _item(item: object, where: str, images: bool, what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """One input item: (the chat message for the SDK, the item as listed)."""
    if not isinstance(item, dict):
        raise _invalid(where, f"an input item must be an object, not {type(item).__name__}")
    kind = item.get("type", "message")
    if kind in ("function_call", "function_call_output"):
        return _tool_item(item, kind, where)
    if kind != "message":
        raise _invalid(
            f"{where}.type",
            f"{kind!r} items cannot be sent here: only messages, function_call and function_call_output",
        )
    role = item.get("role")
    if role not in ROLES:
        shown = "missing" if role is None else repr(role)
        raise _invalid(f"{where}.role", f"{shown}; supported values are: {', '.join(map(repr, ROLES))}")
    content = item.get("content")
    listed = {"type": "message", "role": role, "status": "completed"}
    if isinstance(content, str):
        part = _listed_part(content, None, None, role)
        return {"role": role, "content": content}, {**listed, "content": [part]}
    if not isinstance(content, list):
        shown = "missing" if content is None else type(content).__name__
        raise _invalid(f"{where}.content", f"must be a string or an array of content parts, not {shown}")
    texts: list[str] = []
    found: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for index, raw in enumerate(content):
        text, image = _part(raw, f"{where}.content[{index}]", role, images, what)
        if image is not None:
            found.append(image)
        else:
            assert text is not None
            texts.append(text)
        parts.append(_listed_part(text, image, raw.get("detail"), role))
    return message(role, texts, found), {**listed, "content": parts}


def _string_items(value: str) -> list[dict[str, Any]]:
    """A string input's one item, as listed."""
    part = {"type": "input_text", "text": value}
    return [{"type": "message", "role": "user", "status": "completed", "content": [part]}]


def _input(value: object, images: bool, what: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A list `input` (a string's is simpler): (the chat messages for the SDK, the items as listed)."""
    if not isinstance(value, list) or not value:
        raise _invalid("input", "must be a string or a non-empty array of input items", code="invalid_type")
    pairs = [_item(item, f"input[{index}]", images, what) for index, item in enumerate(value)]
    return _joined_calls([pair[0] for pair in pairs]), [pair[1] for pair in pairs]


def _joined_calls(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive `function_call` items as one assistant message with all their calls (as a
    chat completion's answer holds them)."""
    joined: list[dict[str, Any]] = []
    for item in messages:
        last = joined[-1] if joined else None
        if item.get("tool_calls") and last is not None and last.get("tool_calls") and last["content"] is None:
            joined[-1] = {**last, "tool_calls": [*last["tool_calls"], *item["tool_calls"]]}
        else:
            joined.append(item)
    return joined


def _text_config(value: object, strict: bool) -> tuple[Mapping[str, Any], bool]:
    """The `text` setting echoed back, and whether its `verbosity` was ignored. Its `format`
    is checked with the tools (`structured_options`)."""
    if value is None:
        return _TEXT_FORMAT, False
    if not isinstance(value, dict):
        raise _invalid("text", "must be an object")
    unknown = [key for key in value if key not in ("format", "verbosity")]
    if unknown:
        raise _invalid(f"text.{unknown[0]}", "is not a known setting", code="unknown_parameter")
    fmt = value.get("format")
    echoed = {"format": fmt} if isinstance(fmt, dict) else dict(_TEXT_FORMAT)
    verbosity = value.get("verbosity")
    if verbosity is not None and strict:
        raise bad_request(
            "the chat models cannot honour the parameter(s) text.verbosity (leave it out)",
            param="text.verbosity",
            code="unsupported_parameter",
        )
    return {**echoed, **({"verbosity": verbosity} if verbosity is not None else {})}, verbosity is not None


def _echoed(request: Mapping[str, Any], text: Mapping[str, Any]) -> dict[str, Any]:
    """What the request set of `_ECHOED` and `text`."""
    echoed = {name: value for name, value in request.items() if name in _ECHOED and value is not None}
    metadata = echoed.get("metadata")
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        del echoed["metadata"]
    if text is not _TEXT_FORMAT and text != _TEXT_FORMAT:
        echoed["text"] = text
    for name, value in echoed.items():  # the answer reports them: its JSON must carry them
        try:
            encode(value).encode("utf-8")
        except UnicodeEncodeError:  # (a ValueError too)
            raise _invalid(name, "holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text") from None
        except ValueError:
            raise _invalid(name, "numbers must be finite (no NaN or Infinity)") from None
    return echoed


def _echoed_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A function tool as a response object reports it (every field, null when not given)."""
    fields = ("name", "description", "parameters", "strict")
    return {"type": "function", **{key: tool.get(key) for key in fields}}


#: The members a request may set besides its model, input, stream and store.
_SETTINGS = frozenset(
    {"instructions", "previous_response_id", "text", "tools", "tool_choice", "parallel_tool_calls", *_ECHOED}
)


def _settings(
    request: Mapping[str, Any], text_api: bool, strict: bool, ignored: tuple[str, ...]
) -> tuple[str | None, str | None, dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...]]:
    """What a request sets of `_SETTINGS`, checked: its instructions, previous response id,
    structured options (tools, `text.format`), text API options, what the answer reports
    back (`_echoed`, with the `text` setting), and the parameters ignored (`ignored` and more)."""
    instructions = string(request, "instructions", required=False)
    previous = string(request, "previous_response_id", required=False)
    text_setting, tools = request.get("text"), request.get("tools")
    tool_choice, parallel = request.get("tool_choice"), request.get("parallel_tool_calls")
    text: Mapping[str, Any] = _TEXT_FORMAT
    structured: dict[str, Any] = {}
    if text_setting is not None or tools is not None or tool_choice is not None or parallel is not None:
        text, verbosity_ignored = _text_config(text_setting, strict)
        structured = structured_options(tools, tool_choice, parallel, text["format"], flat=True)
        if verbosity_ignored:
            ignored = (*ignored, "text.verbosity")
    options: dict[str, Any] = {}
    if text_api:
        options = {name: request[name] for name in ("temperature", "top_p") if request.get(name) is not None}
    if isinstance(tools, list):  # checked above: function tools, each named
        request = {**request, "tools": [_echoed_tool(tool) for tool in tools]}
    return instructions, previous, structured, options, _echoed(request, text), ignored


def parse_responses(body: object, chat_models: Sequence[str], policies: Policies) -> ResponsesRequest:
    """Check a `POST /v1/responses` body. Raises GatewayError (404 for an unknown model)."""
    request = object_body(body)
    model = string(request, "model")
    assert model is not None
    chosen = target(model, chat_models)
    text_api = chosen.text_model is not None
    ignored = (policies.responses_text if text_api else policies.responses).check(request)
    stream = request.get("stream")
    if stream is not True and stream is not False:  # (absent, null, or not a boolean: refused)
        stream = boolean(request, "stream")
    if request.get("stream_options") is not None and not stream:
        raise bad_request("'stream_options' is only allowed with 'stream': true", param="stream_options")
    value = request.get("input")
    messages: list[dict[str, Any]] = [{"role": "user", "content": value}] if isinstance(value, str) else []
    items: list[dict[str, Any]] = []  # a string's: `input_text` stands for it (see `listed_items`)
    if not messages:
        what = f"{TEXT_TARGET} ({model})" if text_api else CHAT_TARGET
        messages, items = _input(value, not text_api, what)
    if _SETTINGS.isdisjoint(request):  # (most requests set none of them: the defaults)
        instructions = previous = None
        structured: dict[str, Any] = {}
        options: dict[str, Any] = {}
        echoed: dict[str, Any] = {}
    else:
        instructions, previous, structured, options, echoed, ignored = _settings(
            request, text_api, policies.strict, ignored
        )
    chat = ChatPlan(
        chosen.model,
        messages,
        stream,
        text_model=chosen.text_model,
        text_options=options,
        ignored=ignored,
        structured=structured,
    )
    store = request.get("store", True)
    if store is not True and store is not False:  # (as `stream`)
        store = boolean(request, "store", default=True)
    return ResponsesRequest(
        chat, items, instructions, previous, store, echoed, value if isinstance(value, str) else None
    )

"""`/v1/responses`, the answers: the `response` object, its streamed events, the listed input
items. Shapes as openai-python's types (`openai.types.responses`) read them. No I/O."""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from dynaspark_sdk import ToolCall

from .errors import GatewayError

__all__ = [
    "NO_USAGE_JSON",
    "ResponseEvents",
    "deleted",
    "encode",
    "failure",
    "function_call_item",
    "item_list",
    "message_id_of",
    "output_message",
    "output_message_json",
    "response_ids",
    "response_json",
    "response_object",
    "string_json",
    "usage",
]

#: JSON as Starlette's `JSONResponse` renders it (compact, no NaN), as text, with one encoder
#: for the process (`json.dumps` with options makes a new one per call).
encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
#: A string as JSON, as `encode` renders one (without its call's detour through the encoder).
string_json = json.encoder.encode_basestring


#: Random tokens for response ids, drawn from the OS a batch at a time (one system call per
#: `_TOKENS_PER_DRAW` ids, not one per id). A deque: `pop` and `extend` are atomic, so threads
#: never share a token; a forked child forgets the parent's (see below).
_tokens: collections.deque[str] = collections.deque()
_TOKENS_PER_DRAW = 128
_TOKEN_HEX = 48  # 24 bytes, as secrets.token_hex(24)
if hasattr(os, "register_at_fork"):  # (not on Windows, which has no fork)
    os.register_at_fork(after_in_child=_tokens.clear)


def _drawn_token() -> str:
    """A token from a new batch drawn from the OS (the others kept for the next ids)."""
    drawn = os.urandom(_TOKENS_PER_DRAW * _TOKEN_HEX // 2).hex()
    _tokens.extend(drawn[at : at + _TOKEN_HEX] for at in range(_TOKEN_HEX, len(drawn), _TOKEN_HEX))
    return drawn[:_TOKEN_HEX]


def response_ids() -> tuple[str, str]:
    """A fresh, unguessable `resp_...` id (24 bytes from the OS), and the id of the response's
    output message (its one message: unique as the response's id is, without drawing another;
    see `message_id_of`)."""
    try:
        token = _tokens.pop()
    except IndexError:
        token = _drawn_token()
    return "resp_" + token, "msg_" + token


def message_id_of(response: str) -> str:
    """The id of the output message of the response `response`."""
    return "msg_" + response.removeprefix("resp_")


def usage(counts: Mapping[str, int] | None) -> dict[str, Any]:
    """The `usage` object: the text API's token counts, zeros where the service counts none."""
    given = counts or {}
    prompt, completion = given.get("prompt_tokens", 0), given.get("completion_tokens", 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": given.get("total_tokens", prompt + completion),
    }


#: The empty string, as JSON.
_EMPTY = '""'
#: `usage(None)` as JSON.
NO_USAGE_JSON = encode(usage(None))


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def output_message(ident: str, text: str | None, status: str = "completed") -> dict[str, Any]:
    """An assistant message item; `text` None: no content part yet."""
    content = [] if text is None else [_text_part(text)]
    return {"id": ident, "type": "message", "status": status, "role": "assistant", "content": content}


def _text_part_json(text_json: str) -> str:
    return f'{{"type":"output_text","text":{text_json},"annotations":[],"logprobs":[]}}'


def _output_message_json(ident: str, text_json: str) -> str:
    """`output_message(ident, text)` as JSON (`ident` with nothing to escape)."""
    return output_message_json(ident, text_json)[1:-1]


def output_message_json(ident: str, text_json: str) -> str:
    """`[output_message(ident, text)]` as JSON, from `text` already rendered (`string_json(text)`;
    `ident` with nothing to escape; the part as `_text_part_json` renders it)."""
    return (
        f'[{{"id":"{ident}","type":"message","status":"completed","role":"assistant","content":'
        f'[{{"type":"output_text","text":{text_json},"annotations":[],"logprobs":[]}}]}}]'
    )


def function_call_item(call: ToolCall, status: str = "completed", *, arguments: str | None = None) -> dict[str, Any]:
    """A `function_call` output item for one of the model's calls (`arguments` a JSON string;
    `arguments` given: what is shown of them while they stream)."""
    shown = call.to_openai()["function"]["arguments"] if arguments is None else arguments
    return {
        "id": "fc_" + call.id.removeprefix("call_"),
        "type": "function_call",
        "status": status,
        "call_id": call.id,
        "name": call.name,
        "arguments": shown,
    }


def failure(error: GatewayError) -> dict[str, str]:
    """A failed response's `error`: OpenAI's codes name only a rate limit or a server error."""
    code = "rate_limit_exceeded" if error.status == 429 else "server_error"
    return {"code": code, "message": error.message}


def response_object(
    ident: str,
    created_at: int,
    model: str,
    echo: Mapping[str, Any],
    *,
    status: str,
    output: Sequence[Mapping[str, Any]] = (),
    counts: Mapping[str, int] | None = None,
    error: Mapping[str, str] | None = None,
    completed_at: int | None = None,
) -> dict[str, Any]:
    """A `response` object. `echo` holds what the request set that the object reports
    (`instructions`, `previous_response_id`, `store`, `temperature`, ...). The answers are
    rendered by `response_json`, tested to give this object's JSON."""
    return {
        "id": ident,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "completed_at": completed_at,
        "error": dict(error) if error is not None else None,
        "incomplete_details": None,
        "model": model,
        "output": list(output),
        "usage": usage(counts) if status == "completed" else None,
        **echo,
    }


def response_json(
    ident: str,
    status: str,
    created_at: int,
    completed_at: int | None,
    model_json: str,
    output_json: str,
    usage_json: str,
    echo_json: str,
) -> str:
    """`response_object(...)` of an answer under way or completed (no error) as JSON, the same
    text as `encode` gives, from its parts already rendered: the hot path, where building the
    object and encoding it whole cost several times more. `ident` is from `response_ids()` and
    `status` a plain word (nothing to escape); `echo_json` the echo's members without braces
    (`ResponsesRequest.echo_json()`)."""
    completed = "null" if completed_at is None else completed_at
    return (
        f'{{"id":"{ident}","object":"response","created_at":{created_at},"status":"{status}",'
        f'"completed_at":{completed},"error":null,"incomplete_details":null,"model":{model_json},'
        f'"output":{output_json},"usage":{usage_json},{echo_json}}}'
    )


def deleted(ident: str) -> dict[str, Any]:
    """The answer to `DELETE /v1/responses/{id}`."""
    return {"id": ident, "object": "response", "deleted": True}


def item_list(items: Sequence[Mapping[str, Any]], has_more: bool) -> dict[str, Any]:
    """A page of input items (`GET /v1/responses/{id}/input_items`)."""
    return {
        "object": "list",
        "data": [dict(item) for item in items],
        "first_id": items[0]["id"] if items else "",
        "last_id": items[-1]["id"] if items else "",
        "has_more": has_more,
    }


class ResponseEvents:
    """The server-sent events of one streamed response, numbered by `sequence_number` in the
    order OpenAI sends them: created, in_progress; for text, output_item.added,
    content_part.added, the text deltas, output_text.done, content_part.done,
    output_item.done; for each function call, output_item.added,
    function_call_arguments.delta and .done, output_item.done; then completed (or failed).
    The message is begun at its first piece of text (an answer that is only calls has none).
    The opening events go out with the first piece of the body that follows them (a delta,
    the closing or the failure) unless `opening()` sent them; each method's piece is rendered
    as text and encoded once. An answer of one piece of text, all in at once, is rendered
    whole by `whole()`.

    The response is `ident`, created at `created`, for the model `model_json` (as JSON), with
    `echo_json` (`ResponsesRequest.echo_json()`); `item_id` is its message's id."""

    # Where the stream is (set on the instance as it moves on).
    _sequence = 0
    _opened = False
    _begun = False
    #: Whether the last event (completed or failed) has been rendered.
    finished = False
    # The members placing the message's text part, and its pieces of text, once it is begun.
    _where: str
    _text: list[str] | tuple[()] = ()

    def __init__(self, ident: str, item_id: str, created: int, model_json: str, echo_json: str) -> None:
        self.ident = ident
        self.item_id = item_id
        self.created = created
        self.model_json = model_json
        self.echo_json = echo_json

    @property
    def _response_json(self) -> str:
        """The response begun (`in_progress`), as JSON."""
        return response_json(
            self.ident, "in_progress", self.created, None, self.model_json, "[]", "null", self.echo_json
        )

    def completed_json(self, output_json: str, completed_at: int) -> str:
        """The response completed with `output_json` (its output items, as JSON), as JSON."""
        return response_json(
            self.ident,
            "completed",
            self.created,
            completed_at,
            self.model_json,
            output_json,
            NO_USAGE_JSON,
            self.echo_json,
        )

    def whole(self, text: str, completed_at: int) -> tuple[bytes, str, str]:
        """Every event of a response answered with one piece of text, `text`, completed at
        `completed_at`, in one piece, before any other: what `delta(text)` and `closing(...)`
        give, rendered from one template (a stream the service answered at once). With the
        completed response and the text, as JSON (for the store)."""
        assert not self._opened, "whole() renders a stream from its first event"
        self._opened = self._begun = self.finished = True  # (and nothing follows: no number kept)
        self._text = [text]
        item, echo = self.item_id, self.echo_json
        text_json = string_json(text)
        # As `_text_part_json`, `_output_message_json`, `response_json` and the other methods
        # render them (`item` and the response's id have nothing to escape).
        part = f'{{"type":"output_text","text":{text_json},"annotations":[],"logprobs":[]}}'
        message = f'{{"id":"{item}","type":"message","status":"completed","role":"assistant","content":[{part}]}}'
        head = f'{{"id":"{self.ident}","object":"response","created_at":{self.created},"status":"'
        middle = f',"error":null,"incomplete_details":null,"model":{self.model_json},"output":'
        begun = f'{head}in_progress","completed_at":null{middle}[],"usage":null,{echo}}}'
        completed = (
            f'{head}completed","completed_at":{completed_at}{middle}[{message}],"usage":{NO_USAGE_JSON},{echo}}}'
        )
        body = (
            f'event: response.created\ndata: {{"type":"response.created","sequence_number":0,"response":{begun}}}\n\n'
            f'event: response.in_progress\ndata: {{"type":"response.in_progress","sequence_number":1,'
            f'"response":{begun}}}\n\n'
            f'event: response.output_item.added\ndata: {{"type":"response.output_item.added","sequence_number":2,'
            f'"output_index":0,"item":{{"id":"{item}","type":"message","status":"in_progress","role":"assistant",'
            f'"content":[]}}}}\n\n'
            f'event: response.content_part.added\ndata: {{"type":"response.content_part.added","sequence_number":3,'
            f'"item_id":"{item}","output_index":0,"content_index":0,"part":{{"type":"output_text","text":"",'
            f'"annotations":[],"logprobs":[]}}}}\n\n'
            f'event: response.output_text.delta\ndata: {{"type":"response.output_text.delta","sequence_number":4,'
            f'"item_id":"{item}","output_index":0,"content_index":0,"delta":{text_json},"logprobs":[]}}\n\n'
            f'event: response.output_text.done\ndata: {{"type":"response.output_text.done","sequence_number":5,'
            f'"item_id":"{item}","output_index":0,"content_index":0,"text":{text_json},"logprobs":[]}}\n\n'
            f'event: response.content_part.done\ndata: {{"type":"response.content_part.done","sequence_number":6,'
            f'"item_id":"{item}","output_index":0,"content_index":0,"part":{part}}}\n\n'
            f'event: response.output_item.done\ndata: {{"type":"response.output_item.done","sequence_number":7,'
            f'"output_index":0,"item":{message}}}\n\n'
            f'event: response.completed\ndata: {{"type":"response.completed","sequence_number":8,'
            f'"response":{completed}}}\n\n'
        )
        return body.encode(), completed, text_json

    def _event(self, kind: str, payload: dict[str, Any]) -> str:
        return self._rendered_event(kind, encode(payload)[1:-1])

    def _rendered_event(self, kind: str, members: str) -> str:
        """The event `kind` (a name with nothing to escape), its payload's `members` rendered
        already (JSON without the braces): `{"type", "sequence_number", **payload}`."""
        sequence = self._sequence
        self._sequence += 1
        return f'event: {kind}\ndata: {{"type":"{kind}","sequence_number":{sequence},{members}}}\n\n'

    def _opening(self) -> str:
        """response.created and response.in_progress (the response rendered once, for both),
        unless sent already."""
        if self._opened:
            return ""
        self._opened = True
        # As `_rendered_event` renders each, in one string: the response (about 1.5 KB) copied once per event.
        sequence, response = self._sequence, self._response_json
        self._sequence += 2
        return (
            f'event: response.created\ndata: {{"type":"response.created","sequence_number":{sequence},'
            f'"response":{response}}}\n\nevent: response.in_progress\ndata: {{"type":"response.in_progress",'
            f'"sequence_number":{sequence + 1},"response":{response}}}\n\n'
        )

    def opening(self) -> bytes:
        """response.created and response.in_progress, now (nothing if sent already)."""
        return self._opening().encode()

    def _begin(self) -> str:
        """The message and its text part begun."""
        self._begun, self._text = True, []
        self._where = f'"item_id":"{self.item_id}","output_index":0,"content_index":0'
        # `output_message(self.item_id, None, "in_progress")`, rendered (the id has nothing to escape).
        item = f'{{"id":"{self.item_id}","type":"message","status":"in_progress","role":"assistant","content":[]}}'
        return self._rendered_event("response.output_item.added", f'"output_index":0,"item":{item}') + (
            self._rendered_event("response.content_part.added", f'{self._where},"part":{_text_part_json(_EMPTY)}')
        )

    def delta(self, text: str) -> bytes:
        """One `response.output_text.delta` (the opening events and the message begun first, at the first)."""
        opening, begun = self._opening(), "" if self._begun else self._begin()
        self._text.append(text)  # type: ignore[union-attr]  # (a list once begun)
        delta = self._rendered_event(
            "response.output_text.delta", f'{self._where},"delta":{string_json(text)},"logprobs":[]'
        )
        return f"{opening}{begun}{delta}".encode()

    @property
    def text(self) -> str:
        """The text sent so far."""
        return "".join(self._text)

    def output(self, calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
        """The response's output items: the message (when there is text, or no call), then the calls."""
        message = [output_message(self.item_id, self.text)] if self._begun or not calls else []
        return [*message, *(function_call_item(call) for call in calls)]

    def _call(self, index: int, call: ToolCall) -> str:
        item = function_call_item(call)
        where = {"item_id": item["id"], "output_index": index}
        return "".join(
            (
                self._event(
                    "response.output_item.added",
                    {"output_index": index, "item": function_call_item(call, "in_progress", arguments="")},
                ),
                self._event("response.function_call_arguments.delta", {**where, "delta": item["arguments"]}),
                self._event(
                    "response.function_call_arguments.done",
                    {**where, "name": call.name, "arguments": item["arguments"]},
                ),
                self._event("response.output_item.done", {"output_index": index, "item": item}),
            )
        )

    def closing(self, completed_json: str, calls: Sequence[ToolCall] = (), text_json: str | None = None) -> bytes:
        """The text, part and message done (begun first if no text came and no call), each
        call's events, then `response.completed` with the response (`completed_json`, as
        rendered for the store too); `text_json` the text sent, as JSON, if the caller has it."""
        pieces = [self._opening()]
        if not (self._begun or calls):
            pieces.append(self._begin())
        if self._begun:
            text = string_json(self.text) if text_json is None else text_json
            message = _output_message_json(self.item_id, text)
            pieces += [
                self._rendered_event("response.output_text.done", f'{self._where},"text":{text},"logprobs":[]'),
                self._rendered_event("response.content_part.done", f'{self._where},"part":{_text_part_json(text)}'),
                self._rendered_event("response.output_item.done", f'"output_index":0,"item":{message}'),
            ]
        first = 1 if self._begun else 0
        pieces += [self._call(first + index, call) for index, call in enumerate(calls)]
        # As `_rendered_event` renders it, the response (about 1.5 KB) copied only by the join.
        sequence = self._sequence
        self._sequence += 1
        completed = f'event: response.completed\ndata: {{"type":"response.completed","sequence_number":{sequence},'
        pieces += (completed, '"response":', completed_json, "}\n\n")
        self.finished = True
        return "".join(pieces).encode()

    def failed(self, error: GatewayError) -> bytes:
        """`response.failed`: the response with status `failed`, its error, and the text so far
        (after the opening events, if they were not sent)."""
        opening = self._opening()
        output = [output_message(self.item_id, self.text, "incomplete")] if self._begun else []
        begun = json.loads(self._response_json)  # (a failure is rare: no dict is kept for it)
        response = {**begun, "status": "failed", "error": failure(error), "output": output}
        self.finished = True
        return (opening + self._event("response.failed", {"response": response})).encode()

"""`/v1/responses`: create (whole or streamed), retrieve, delete, and list a response's input
items. A response is answered by the same upstream calls as a chat completion (`Upstream`)
and, with `store` (the default), kept in the `ResponseStore` for `previous_response_id`."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from dynaspark_sdk import DynasparkError, StructuredOutputError, ToolCall

from ._answers import STREAM_HEADERS, error_response, ignored_headers, on_asyncio, send_events, send_json_body
from ._guard import HEADERS_SCOPE_KEY
from ._response_store import AsyncResponseStore, BrokenChain, StoredResponse, remember_owner
from ._shapes.errors import GatewayError, bad_request
from ._shapes.parameters import Policies
from ._shapes.response_objects import (
    NO_USAGE_JSON,
    ResponseEvents,
    deleted,
    encode,
    function_call_item,
    item_list,
    output_message_json,
    response_ids,
    response_json,
    string_json,
    usage,
)
from ._shapes.responses import ResponsesRequest, parse_responses
from ._upstream import TextStream, Upstream

__all__ = ["ResponsesRoutes"]

#: `input_items` pages: OpenAI's default and largest `limit`.
_DEFAULT_LIMIT, _MAX_LIMIT = 20, 100


def _not_found(ident: str, param: str | None = None, code: str | None = None) -> GatewayError:
    what = "Previous response" if param == "previous_response_id" else "Response"
    return GatewayError(404, f"{what} with id {ident!r} not found.", param=param, code=code)


class ResponsesRoutes:
    """The `/v1/responses` endpoints. `read_body` reads a request's JSON body after the key
    check; `check_key` checks the key only; `token` is the bearer token a request carries
    (whose responses it may see)."""

    def __init__(
        self,
        upstream: Upstream,
        store: AsyncResponseStore,
        policies: Policies,
        chat_models: tuple[str, ...],
        read_body: Callable[[Scope, Receive], Awaitable[object]],
        check_key: Callable[[Scope], None],
        token: Callable[[Scope], str],
    ) -> None:
        self.upstream = upstream
        self.store = store
        self.policies = policies
        self.chat_models = chat_models
        self.read_body = read_body
        self.check_key = check_key
        self.token = token
        self._owners: dict[bytes | None, str] = {}

    def _owner(self, scope: Scope) -> str:
        """Whose responses the request may see and store, by the Authorization header as sent
        (remembered: most requests repeat one)."""
        sent = scope[HEADERS_SCOPE_KEY].get(b"authorization")
        owner = self._owners.get(sent)
        if owner is None:
            owner = self.store.store.owner(self.token(scope))
            remember_owner(self._owners, sent, owner)
        return owner

    async def _history(self, owner: str, ident: str) -> list[dict[str, Any]]:
        try:
            history = await self.store.run(self.store.store.history, owner, ident)
        except BrokenChain as exc:
            raise GatewayError(
                404,
                f"the conversation before {ident!r} is no longer complete: {exc.missing!r} was deleted"
                " or dropped from the store",
                param="previous_response_id",
                code="previous_response_not_found",
            ) from None
        if history is None:
            raise _not_found(ident, "previous_response_id", "previous_response_not_found")
        return history

    def _save(
        self,
        owner: str,
        request: ResponsesRequest,
        ident: str,
        response: str,
        text: str,
        calls: tuple[ToolCall, ...],
        text_json: str | None = None,
    ) -> Awaitable[None] | None:
        """Store the response `ident` (`response`, its JSON as answered; `text` and `calls` the
        answer, `text_json` the text as JSON if rendered already): at once in memory (None),
        else the awaitable that does it in the store's thread."""
        store, said = self.store, request.input_text
        if said is not None and not calls:  # (its items and turn rendered when read)
            if store.on_loop:  # in memory (most): a plain call, without a coroutine's
                store.store.save_text_turn(owner, ident, request.previous_response_id, response, said, text)
                return None
            return store.run(
                store.store.save_text_turn, owner, ident, request.previous_response_id, response, said, text
            )
        items, turn = request.stored_json(ident, text, calls, text_json)
        if store.on_loop:
            store.store.save(owner, ident, request.previous_response_id, response, items, turn)
            return None
        return store.run(store.store.save, owner, ident, request.previous_response_id, response, items, turn)

    # ------------------------------------------------------------------ create

    async def create(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`POST /v1/responses`, a plain ASGI endpoint like chat completions."""
        try:
            request = parse_responses(await self.read_body(scope, receive), self.chat_models, self.policies)
            # Whose responses it stores or continues (no hash for a request that does neither).
            owner = self._owner(scope) if request.store or request.previous_response_id else ""
            history = await self._history(owner, request.previous_response_id) if request.previous_response_id else []
            plan = request.plan(history)
            (ident, item), created = response_ids(), int(time.time())
            headers = ignored_headers(scope, plan.ignored)
            if plan.stream:
                events = ResponseEvents(ident, item, created, string_json(plan.model), request.echo_json())
                try:
                    text = await self.upstream.open_stream(plan)
                except StructuredOutputError as exc:
                    # Structured answers are checked whole, before their first piece: a failed
                    # repair is still the stream's `response.failed`, as OpenAI ends one.
                    body = events.failed(self.upstream.error(exc))  # (after the opening events)
                    failure = Response(body, media_type="text/event-stream", headers={**STREAM_HEADERS, **headers})
                    await failure(scope, receive, send)
                    return
                pieces = self._events(text, events, request, owner)
                if on_asyncio():  # (chat completions' sender: no task group; the last piece ends the body)
                    await send_events(receive, send, pieces, headers, lambda: events.finished)
                    return
                response: Response = StreamingResponse(
                    pieces, media_type="text/event-stream", headers={**STREAM_HEADERS, **headers}
                )
            else:
                answer = await self.upstream.answer(plan)
                text_json = string_json(answer.text)
                if answer.tool_calls:
                    output = encode([function_call_item(call) for call in answer.tool_calls])
                else:
                    output = output_message_json(item, text_json)
                counts = NO_USAGE_JSON if answer.usage is None else encode(usage(answer.usage))
                model, echo = string_json(plan.model), request.echo_json()
                # Rendered from its parts, once, for the answer and the store.
                rendered = response_json(ident, "completed", created, int(time.time()), model, output, counts, echo)
                if request.store and (
                    saving := self._save(owner, request, ident, rendered, answer.text, answer.tool_calls, text_json)
                ):
                    await saving
                await send_json_body(send, rendered.encode(), headers)
                return
        except (GatewayError, DynasparkError) as exc:
            response = error_response(self.upstream.error(exc))
        await response(scope, receive, send)

    async def _events(
        self, text: TextStream, events: ResponseEvents, request: ResponsesRequest, owner: str
    ) -> AsyncGenerator[bytes, None]:
        """The stream's events. The first piece of the body holds the opening events and the
        first delta (the first piece of text is in already, see `open_stream`), the last the
        closing events: one write each, as a chat completion's stream. An answer the service
        gave at once (`TextStream.whole`: text only) goes out in one write, rendered whole when
        it is one piece of text (`ResponseEvents.whole`)."""
        body = b""
        held: list[str] = []  # the pieces of an answer given at once, until its end
        try:
            piece = await text.next()
            while piece is not None:
                if text.whole:
                    held.append(piece)
                else:
                    yield events.delta(piece)
                piece = await text.next()
            calls = text.tool_calls
            if len(held) == 1 and not calls:
                answered = held[0]
                whole, rendered, text_json = events.whole(answered, int(time.time()))
                if request.store and (
                    saving := self._save(owner, request, events.ident, rendered, answered, calls, text_json)
                ):
                    await saving
                yield whole
                return
            body, held = b"".join(map(events.delta, held)), []
            answered = events.text
            text_json = string_json(answered)
            output = encode(events.output(calls)) if calls else output_message_json(events.item_id, text_json)
            # Rendered once, for the store and the last event.
            rendered = events.completed_json(output, int(time.time()))
            if request.store and (
                saving := self._save(owner, request, events.ident, rendered, answered, calls, text_json)
            ):
                await saving
            yield body + events.closing(rendered, calls, text_json)
        except DynasparkError as exc:
            yield body + b"".join(map(events.delta, held)) + events.failed(self.upstream.error(exc))
        except GatewayError as exc:
            yield body + b"".join(map(events.delta, held)) + events.failed(exc)
        finally:
            await text.aclose()

    # ------------------------------------------------------------------ stored responses

    async def _stored(self, request: Request) -> StoredResponse:
        self.check_key(request.scope)
        ident = request.path_params["response_id"]
        stored = await self.store.run(self.store.store.load, self._owner(request.scope), ident)
        if stored is None:
            raise _not_found(ident)
        return stored

    async def retrieve(self, request: Request) -> Response:
        """`GET /v1/responses/{id}`."""
        if request.query_params.get("stream", "false").lower() not in ("false", "0"):
            raise bad_request("streaming a stored response again is not served here", param="stream")
        return JSONResponse((await self._stored(request)).response)

    async def delete(self, request: Request) -> Response:
        """`DELETE /v1/responses/{id}`."""
        self.check_key(request.scope)
        ident = request.path_params["response_id"]
        if not await self.store.run(self.store.store.delete, self._owner(request.scope), ident):
            raise _not_found(ident)
        return JSONResponse(deleted(ident))

    async def input_items(self, request: Request) -> Response:
        """`GET /v1/responses/{id}/input_items`: `limit` (1-100, 20), `order` (`desc`, the
        default, or `asc`), `after` (an item id)."""
        query = request.query_params
        limit_text = query.get("limit", str(_DEFAULT_LIMIT))
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= _MAX_LIMIT:
            raise bad_request(f"'limit' must be a whole number from 1 to {_MAX_LIMIT}", param="limit")
        order = query.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request("'order' must be 'asc' or 'desc'", param="order")
        items = (await self._stored(request)).items
        if order == "desc":
            items = items[::-1]
        after = query.get("after")
        if after is not None:
            ids = [item["id"] for item in items]
            if after not in ids:
                raise bad_request(f"no input item {after!r} in this response", param="after")
            items = items[ids.index(after) + 1 :]
        limit = int(limit_text)
        return JSONResponse(item_list(items[:limit], len(items) > limit))

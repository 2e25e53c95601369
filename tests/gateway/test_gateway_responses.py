"""The gateway's Responses API (`/v1/responses`), driven by the real `openai` package with strict
response validation (sync and async, plain and streamed), the emulator upstream, over loopback:
create, the event stream, `previous_response_id` chains, retrieve, delete, input items, the
store's owners, a store on disk across a restart, and failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import openai
import pytest
from conftest import Dual
from openai_fixtures import CLIENTS, STREAM_CLIENTS, cleared_emulator, failure, invoke, openai_factory, user  # noqa: F401
from starlette.types import Message

from dynaspark_sdk import AsyncClient
from dynaspark_sdk.integrations.gateway import create_app, serve_in_thread
from dynaspark_sdk.integrations.gateway._shapes.parameters import policies
from dynaspark_sdk.integrations.gateway._shapes.response_objects import (
    NO_USAGE_JSON,
    ResponseEvents,
    encode,
    output_message,
    output_message_json,
    response_json,
    response_object,
    usage,
)
from dynaspark_sdk.integrations.gateway._shapes.responses import parse_responses
from dynaspark_sdk.integrations.gateway._sqlite_response_store import SQLiteResponseStore
from dynaspark_sdk.testing import Emulator, EmulatorServer, faults

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("loopback_only")]

PNG_URI = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4AAAAAElFTkSuQmCC"
)
EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
KEY = "disk-test-key-8f3a"
CLOSING = ["response.output_text.done", "response.content_part.done", "response.output_item.done"]


@pytest.fixture(scope="module")
def gateway(upstream: EmulatorServer) -> Iterator[str]:
    with serve_in_thread(create_app(AsyncClient(base_url=upstream.url, max_retries=0), log=lambda _: None)) as running:
        yield running.url


@pytest.fixture
def oai(make_openai: Callable[..., Dual], gateway: str) -> Dual:
    return make_openai(gateway)


async def create(dual: Dual, **kwargs: Any) -> Any:
    return await dual.resolve(dual.client.responses.create(**kwargs))


def sent_prompt(emulator: Emulator) -> str:
    request = emulator.requests[-1]
    return {**request.params, **dict(request.form)}["user_input"]


# --------------------------------------------------------------------------- create


@CLIENTS
async def test_a_string_input_gets_a_completed_response(oai: Dual, emulator: Emulator) -> None:
    response = await create(
        oai, model="gemini-2.0-flash", input="Hello", instructions="Be brief.", max_output_tokens=50
    )
    assert response.object == "response" and response.status == "completed"
    assert response.id.startswith("resp_") and len(response.id) > 40
    assert response.model == "gemini-2.0-flash-lite"
    assert response.output_text == "[gemini-2.0-flash-lite] You said: Hello"
    assert response.instructions == "Be brief." and response.max_output_tokens == 50
    assert response.usage is not None and response.usage.total_tokens == 0
    assert sent_prompt(emulator) == "System: Be brief.\nUser: Hello\nAssistant:"


@CLIENTS
async def test_message_items_with_text_and_image_parts(oai: Dual, emulator: Emulator) -> None:
    content = [
        {"type": "input_text", "text": "What is"},
        {"type": "input_text", "text": "this?"},
        {"type": "input_image", "image_url": PNG_URI, "detail": "low"},
    ]
    response = await create(oai, model="gemini-2.0-flash", input=[{"role": "user", "content": content}])
    assert response.output_text.startswith("[gemini-2.0-flash-lite] You said: this? (with a 69-byte image/png")
    assert sent_prompt(emulator) == "What is\nthis?"
    assert [file.field for file in emulator.requests[-1].files] == ["file"]


@CLIENTS
async def test_the_text_api_reports_its_token_counts(oai: Dual, emulator: Emulator) -> None:
    response = await create(oai, model="text/openai", input="count me", temperature=0.3)
    assert response.model == "text/openai"
    assert response.usage is not None and response.usage.total_tokens > 0
    assert emulator.requests[-1].params["temperature"] == "0.3"


@CLIENTS
async def test_bad_requests_are_openai_shaped_400s_and_404s(oai: Dual, emulator: Emulator) -> None:
    image = {"type": "input_image", "image_url": PNG_URI, "detail": "auto"}
    cases: list[tuple[dict[str, Any], type[openai.APIStatusError], str]] = [
        ({"model": "gpt-9", "input": "x"}, openai.NotFoundError, "gpt-9"),
        ({"model": "gemini-2.0-flash", "input": []}, openai.BadRequestError, "'input'"),
        (
            {"model": "gemini-2.0-flash", "input": [{"role": "wizard", "content": "x"}]},
            openai.BadRequestError,
            "input[0].role",
        ),
        (
            {"model": "text/openai", "input": [{"role": "user", "content": [image]}]},
            openai.BadRequestError,
            "takes no images",
        ),
        (
            {"model": "gemini-2.0-flash", "input": [{"type": "computer_call_output", "call_id": "c", "output": {}}]},
            openai.BadRequestError,
            "input[0].type",
        ),
        (
            {"model": "gemini-2.0-flash", "input": "x", "tools": [{"type": "web_search"}]},
            openai.BadRequestError,
            "tools",
        ),
        (
            {"model": "gemini-2.0-flash", "input": "x", "text": {"format": {"type": "grammar"}}},
            openai.BadRequestError,
            "text.format",
        ),
        (
            {"model": "gemini-2.0-flash", "input": "x", "previous_response_id": "resp_nope"},
            openai.NotFoundError,
            "resp_nope",
        ),
        ({"model": "gemini-2.0-flash", "input": "x", "store": "no"}, openai.BadRequestError, "'store'"),
        ({"model": "gemini-2.0-flash", "input": "x", "extra_body": {"stream": 1}}, openai.BadRequestError, "'stream'"),
    ]
    for kwargs, kind, words in cases:
        error = await failure(create(oai, **kwargs))
        assert isinstance(error, kind), kwargs
        assert words in error.message, error.message
    assert emulator.requests == []


@CLIENTS
async def test_tuning_parameters_are_ignored_and_named(oai: Dual) -> None:
    raw = await oai.resolve(
        oai.client.responses.with_raw_response.create(
            model="gemini-2.0-flash",
            input="x",
            max_output_tokens=10,
            reasoning={"effort": "low"},
            text={"verbosity": "low"},
            metadata={"a": "b"},
        )
    )
    assert set(raw.headers["x-dynaspark-ignored-params"].split(", ")) == {
        "max_output_tokens",
        "reasoning",
        "metadata",
        "text.verbosity",
    }
    assert raw.parse().metadata == {"a": "b"}


# --------------------------------------------------------------------------- conversations


@CLIENTS
async def test_previous_response_id_continues_the_conversation(oai: Dual, emulator: Emulator) -> None:
    first = await create(oai, model="gemini-2.0-flash", input="Name a colour.", instructions="Be brief.")
    second = await create(oai, model="gemini-2.0-flash", input="Another one?", previous_response_id=first.id)
    # Instructions are not carried over (as OpenAI does); the history is folded as a conversation.
    assert sent_prompt(emulator) == (
        f"User: Name a colour.\nAssistant: {first.output_text}\nUser: Another one?\nAssistant:"
    )
    assert second.previous_response_id == first.id
    third = await create(oai, model="text/openai", input="And a third?", previous_response_id=second.id)
    assert sent_prompt(emulator).startswith("User: Name a colour.\n")
    assert sent_prompt(emulator).endswith(f"Assistant: {second.output_text}\nUser: And a third?\nAssistant:")
    assert third.output_text


@CLIENTS
async def test_retrieve_delete_and_input_items(oai: Dual) -> None:
    items = [{"role": "developer", "content": "Be terse."}, {"role": "user", "content": "Hi"}]
    made = await create(oai, model="gemini-2.0-flash", input=items)
    responses = oai.client.responses
    again = await oai.resolve(responses.retrieve(made.id))
    assert again.model_dump() == made.model_dump()
    page = await oai.resolve(responses.input_items.list(made.id))
    listed = await oai.items(page)
    assert [(item.role, item.content[0].text) for item in listed] == [("user", "Hi"), ("developer", "Be terse.")]
    page = await oai.resolve(responses.input_items.list(made.id, order="asc", limit=1))
    assert [item.role for item in page.data] == ["developer"] and page.has_more
    await oai.resolve(responses.delete(made.id))
    error = await failure(invoke(oai, responses.retrieve, made.id))
    assert isinstance(error, openai.NotFoundError)


@CLIENTS
async def test_a_response_is_invisible_to_another_key_and_store_false_keeps_nothing(
    make_openai: Callable[..., Dual], gateway: str
) -> None:
    mine, theirs = make_openai(gateway, "key-one"), make_openai(gateway, "key-two")
    made = await create(mine, model="gemini-2.0-flash", input="secret")
    for call in (
        invoke(theirs, theirs.client.responses.retrieve, made.id),
        invoke(theirs, theirs.client.responses.delete, made.id),
        create(theirs, model="gemini-2.0-flash", input="x", previous_response_id=made.id),
    ):
        assert isinstance(await failure(call), openai.NotFoundError)
    assert (await mine.resolve(mine.client.responses.retrieve(made.id))).id == made.id
    unstored = await create(mine, model="gemini-2.0-flash", input="x", store=False)
    assert unstored.store is False
    assert isinstance(await failure(invoke(mine, mine.client.responses.retrieve, unstored.id)), openai.NotFoundError)


@CLIENTS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_string_input_s_items_and_turn_come_back_from_the_store(
    oai: Dual, emulator: Emulator, stream: bool
) -> None:
    # Such a response is kept as its two texts (`save_text_turn`): read back, they are the item
    # and the turn the JSON would hold, for any text.
    said = 'Say "hi"\n\u00e9\u597d \U0001f600'
    made = await create(oai, model="gemini-2.0-flash", input=said, stream=stream)
    if stream:
        events: list[Any] = await oai.collect(made)
        made = events[-1].response
    responses = oai.client.responses
    assert (await oai.resolve(responses.retrieve(made.id))).model_dump() == made.model_dump()
    page = await oai.resolve(responses.input_items.list(made.id))
    assert [item.model_dump(exclude_none=True) for item in page.data] == [
        {
            "id": "msg_" + made.id.removeprefix("resp_") + "0000",
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_text", "text": said}],
        }
    ]
    await create(oai, model="gemini-2.0-flash", input="And then?", previous_response_id=made.id)
    assert sent_prompt(emulator) == f"User: {said}\nAssistant: {made.output_text}\nUser: And then?\nAssistant:"


async def test_the_same_key_however_it_is_written_sees_its_responses(gateway: str) -> None:
    # The owner is remembered by the header as sent: one key written differently is one owner,
    # another key is another, and a key too long to remember is hashed each time, alike.
    long = "k" * 2000
    body = {"model": "gemini-2.0-flash", "input": "x"}
    async with httpx.AsyncClient(base_url=gateway, trust_env=False) as http:
        for key, same, other in (
            ("key-one", "bearer   key-one", "Bearer key-two"),
            (long, f"BEARER {long}", "Bearer " + long[1:]),
        ):
            made = (await http.post("/responses", json=body, headers={"Authorization": f"Bearer {key}"})).json()
            for _ in range(2):  # (the second time from what was remembered)
                found = await http.get(f"/responses/{made['id']}", headers={"Authorization": same})
                assert found.status_code == 200 and found.json() == made
                assert (await http.get(f"/responses/{made['id']}", headers={"Authorization": other})).status_code == 404


# --------------------------------------------------------------------------- streaming


@STREAM_CLIENTS
async def test_a_stream_emits_openai_s_event_sequence(oai: Dual) -> None:
    stream = await oai.resolve(oai.client.responses.create(model="text/openai", input="one two", stream=True))
    events: list[Any] = await oai.collect(stream)
    kinds = [event.type for event in events]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert kinds == [*EVENTS, *["response.output_text.delta"] * len(deltas), *CLOSING, "response.completed"]
    assert deltas == ["[openai] ", "You ", "said: ", "one ", "two"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    completed = events[-1].response
    assert completed.status == "completed" and completed.output_text == "[openai] You said: one two"
    # The streamed response is stored, and continues a conversation.
    stored = await oai.resolve(oai.client.responses.retrieve(completed.id))
    assert stored.output_text == completed.output_text


async def test_a_failure_mid_stream_ends_with_response_failed(gateway: str, emulator: Emulator) -> None:
    emulator.inject(faults.cut_stream(after_events=3))
    async with openai.AsyncOpenAI(
        base_url=gateway, api_key="k", max_retries=0, _strict_response_validation=True
    ) as oai:
        stream = await oai.responses.create(model="text/openai", input="w1 w2 w3 w4", stream=True)
        events = [event async for event in stream]
    assert events[-1].type == "response.failed"
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None and failed.error.code == "server_error"
    assert failed.output_text == "[openai] You said: "


async def test_a_failure_before_the_stream_begins_is_an_error_status(gateway: str, emulator: Emulator) -> None:
    emulator.inject(faults.status(429, retry_after=3))
    async with openai.AsyncOpenAI(
        base_url=gateway, api_key="k", max_retries=0, _strict_response_validation=True
    ) as oai:
        with pytest.raises(openai.RateLimitError):
            await oai.responses.create(model="gemini-2.0-flash", input="x", stream=True)


async def test_the_wire_has_event_lines_and_no_done(gateway: str) -> None:
    body = {"model": "gemini-2.0-flash", "input": "hi", "stream": True}
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(gateway + "/responses", json=body)
    blocks = [block for block in answer.text.split("\n\n") if block]
    assert answer.headers["content-type"].startswith("text/event-stream")
    for block in blocks:
        event_line, data_line = block.split("\n")
        assert event_line == f"event: {json.loads(data_line.removeprefix('data: '))['type']}"
    assert "[DONE]" not in answer.text


# --------------------------------------------------------------------------- the store


async def test_a_store_on_disk_keeps_conversations_across_a_restart(upstream: EmulatorServer, tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite3"

    async def turn(text: str, previous: str | None = None, key: str = KEY) -> Any:
        app = create_app(AsyncClient(base_url=upstream.url, max_retries=0), responses_db=path, log=lambda _: None)
        with serve_in_thread(app) as running:
            async with openai.AsyncOpenAI(base_url=running.url, api_key=key, max_retries=0) as oai:
                return await oai.responses.create(model="gemini-2.0-flash", input=text, previous_response_id=previous)

    first = await turn("Remember blue.")
    second = await turn("What colour?", first.id)
    assert upstream.emulator.requests[-1].form[0][1].startswith("User: Remember blue.\n")
    assert second.previous_response_id == first.id
    with pytest.raises(openai.NotFoundError):
        await turn("Not mine", first.id, key="another key")
    store = SQLiteResponseStore(str(path))
    try:
        assert store.load(store.owner(KEY), second.id) is not None
    finally:
        store.close()
    # The file holds who may see each response as a keyed hash, never the key.
    assert not any(KEY.encode() in file.read_bytes() for file in tmp_path.iterdir())  # noqa: ASYNC240


@pytest.mark.parametrize(
    "body",
    [
        {"input": 'Hi \u00e9"\n'},
        {"input": "x", "store": False, "instructions": 'Be "brief".', "previous_response_id": "resp_1"},
        {"input": "x", "store": False},
        {"input": "x", "previous_response_id": "resp_1"},
        {"input": "x", "temperature": 0.5, "metadata": {"a": "b"}, "text": {"verbosity": "low"}},
        {"input": "x", "metadata": {"a": 1}, "text": {"format": {"type": "text"}}},
    ],
)
@pytest.mark.parametrize("counts", [None, {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}])
def test_a_completed_response_is_rendered_as_its_object(body: dict[str, Any], counts: dict[str, int] | None) -> None:
    # The answer's fast path renders the JSON from its parts: the same text as the object encoded whole.
    request = parse_responses({"model": "text/x", **body}, (), policies())
    text = 'Answer "\u00e9"\n\u2028'
    expected = response_object(
        "resp_ab",
        1,
        "text/x",
        request.echo,
        status="completed",
        output=[output_message("msg_ab", text)],
        counts=counts,
        completed_at=2,
    )
    counted = NO_USAGE_JSON if counts is None else encode(usage(counts))
    output = output_message_json("msg_ab", encode(text))
    model, echo = encode("text/x"), request.echo_json()
    assert response_json("resp_ab", "completed", 1, 2, model, output, counted, echo) == encode(expected)
    under_way = response_object("resp_ab", 1, "text/x", request.echo, status="in_progress")
    assert response_json("resp_ab", "in_progress", 1, None, model, "[]", "null", echo) == encode(under_way)


def test_a_stream_s_events_are_rendered_as_their_objects() -> None:
    # The events are rendered from their parts: each one's JSON is the object OpenAI's types read.
    base = response_object("resp_ab", 1, "m", {"store": True}, status="in_progress")
    events = ResponseEvents("resp_ab", "msg_ab", 1, encode("m"), '"store":true')
    pieces = ['a "b"\n', "\u00e9\u2028"]
    body = events.opening() + b"".join(events.delta(piece) for piece in pieces) + events.closing('{"id":"x"}')
    blocks = [block.split("\n") for block in body.decode().split("\n\n") if block]
    payloads = [json.loads(data.removeprefix("data: ")) for _, data in blocks]
    assert [kind.removeprefix("event: ") for kind, _ in blocks] == [payload["type"] for payload in payloads]
    text = "".join(pieces)
    where: dict[str, Any] = {"item_id": "msg_ab", "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    expected: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": base}),
        ("response.in_progress", {"response": base}),
        ("response.output_item.added", {"output_index": 0, "item": output_message("msg_ab", None, "in_progress")}),
        ("response.content_part.added", {**where, "part": {**part, "text": ""}}),
        *[("response.output_text.delta", {**where, "delta": piece, "logprobs": []}) for piece in pieces],
        ("response.output_text.done", {**where, "text": text, "logprobs": []}),
        ("response.content_part.done", {**where, "part": part}),
        ("response.output_item.done", {"output_index": 0, "item": output_message("msg_ab", text)}),
        ("response.completed", {"response": {"id": "x"}}),
    ]
    assert payloads == [
        {"type": kind, "sequence_number": number, **payload} for number, (kind, payload) in enumerate(expected)
    ]


@pytest.mark.parametrize("text", ['a "b"\n\u00e9\u2028', ""])
def test_an_answer_given_at_once_is_rendered_whole_as_piece_by_piece(text: str) -> None:
    # `whole()` renders the nine events from one template: the same bytes as the opening, the
    # delta and the closing rendered one by one, the same response for the store, and the
    # events are as finished.
    echo = parse_responses({"model": "text/x", "input": "x"}, (), policies()).echo_json()
    parts = ("resp_ab", "msg_ab", 7, encode("gemini-x"), echo)
    one, whole = ResponseEvents(*parts), ResponseEvents(*parts)
    completed = one.completed_json(output_message_json("msg_ab", encode(text)), 8)
    assert (json.loads(completed)["created_at"], json.loads(completed)["completed_at"]) == (7, 8)
    expected = one.delta(text) + one.closing(completed, (), encode(text))
    assert whole.whole(text, 8) == (expected, completed, encode(text))
    assert (whole.finished, whole.text) == (True, text) == (one.finished, one.text)


def test_response_ids_are_unguessable_and_never_repeat_in_a_forked_child() -> None:
    # Drawn from the OS a batch at a time: a forked child must not hand out its parent's next ones.
    script = """
import os, re, sys
from dynaspark_sdk.integrations.gateway._shapes.response_objects import response_ids
drawn = [response_ids() for _ in range(300)]  # (more than one batch)
assert all(re.fullmatch("resp_[0-9a-f]{48}", r) and m == "msg_" + r[5:] for r, m in drawn), drawn[:3]
assert len({r for r, _ in drawn}) == len(drawn)
read, write = os.pipe()
child = os.fork()
if child == 0:
    os.write(write, response_ids()[0].encode())
    os._exit(0)
os.close(write)
theirs = os.read(read, 100).decode()
os.waitpid(child, 0)
assert theirs.startswith("resp_") and theirs != response_ids()[0], theirs
print("ok")
"""
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert ran.stdout.strip() == "ok", ran.stderr


def test_a_string_input_is_stored_as_the_same_message_item() -> None:
    # A string input's items and turn are rendered from their parts: the same JSON as the
    # message it stands for, and the same ids.
    said = 'Hi "\u00e9"\n'
    plain = parse_responses({"model": "text/x", "input": said}, (), policies())
    item = parse_responses({"model": "text/x", "input": [{"role": "user", "content": said}]}, (), policies())
    assert plain.input_text == said and item.input_text is None
    for text in ('An "answer"\u2028', ""):
        fast = plain.stored_json("resp_ab", text, text_json=encode(text))
        assert fast == plain.stored_json("resp_ab", text) == item.stored_json("resp_ab", text)
        items, turn = map(json.loads, fast)
        assert items == [{"id": "msg_ab0000", **item.items[0]}] == plain.listed_items("resp_ab")
        assert turn == [{"role": "user", "content": said}, {"role": "assistant", "content": text}]


# --------------------------------------------------------------------------- the same front and checks


@pytest.mark.parametrize("stream", [b"false", b"true"])
async def test_a_number_json_cannot_carry_is_a_400_before_any_request(
    gateway: str, emulator: Emulator, stream: bytes
) -> None:
    # Python's json reads NaN; the answer reports temperature back, and JSON cannot carry it.
    body = b'{"model": "gemini-2.0-flash", "input": "x", "temperature": NaN, "stream": ' + stream + b"}"
    async with httpx.AsyncClient(base_url=gateway, trust_env=False) as http:
        answer = await http.post("/responses", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "temperature"
    assert emulator.requests == []


@pytest.mark.parametrize("stream", [b"false", b"true"])
@pytest.mark.parametrize(
    ("member", "param"),
    [
        (b'"metadata": {"note": "a\\ud800"}', "metadata"),
        (b'"user": "\\udfff"', "user"),
        (b'"tools": [{"type": "function", "name": "f", "description": "\\ud800", "parameters": {}}]', "tools"),
    ],
    ids=["metadata", "user", "tool"],
)
async def test_a_lone_surrogate_the_answer_would_report_is_a_400_before_any_request(
    gateway: str, emulator: Emulator, stream: bytes, member: bytes, param: str
) -> None:
    # JSON's \ud800 escapes read as a lone surrogate, which UTF-8 cannot carry: the response
    # object reports these fields back, so the answer (or the stream, cut off) would fail.
    body = b'{"model": "gemini-2.0-flash", "input": "x", ' + member + b', "stream": ' + stream + b"}"
    async with httpx.AsyncClient(base_url=gateway, trust_env=False) as http:
        answer = await http.post("/responses", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert (error["param"], error["type"]) == (param, "invalid_request_error")
    assert "lone surrogate" in error["message"]
    assert emulator.requests == []


async def test_responses_pass_the_same_front_as_chat_completions(gateway: str, emulator: Emulator) -> None:
    body = {"model": "gemini-2.0-flash", "input": "x"}
    async with httpx.AsyncClient(base_url=gateway, trust_env=False) as http:
        cross_site = await http.post("/responses", json=body, headers={"origin": "http://evil.example"})
        as_form = await http.post("/responses", content=b"{}", headers={"content-type": "text/plain"})
        foreign_host = await http.post("/responses", json=body, headers={"host": "evil.example"})
    assert (cross_site.status_code, as_form.status_code, foreign_host.status_code) == (403, 415, 403)
    assert emulator.requests == []


async def test_an_image_url_on_a_private_address_is_refused_as_in_chat_completions(
    gateway: str, upstream: EmulatorServer, emulator: Emulator
) -> None:
    image = {"type": "input_image", "image_url": f"{upstream.url}/status", "detail": "auto"}
    content = [{"type": "input_text", "text": "Describe"}, image]
    body = {"model": "gemini-2.0-flash", "input": [{"role": "user", "content": content}]}
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(gateway + "/responses", json=body)
    assert answer.status_code == 400
    assert "loopback address" in answer.json()["error"]["message"]
    assert emulator.requests == []


async def test_a_stream_goes_out_in_as_few_writes_as_a_chat_stream(
    upstream: EmulatorServer, anyio_backend: str
) -> None:
    # The opening events go out with the first delta, the closing ones as the last piece (on
    # asyncio: with the body's end, and no empty piece after it), as a chat stream's chunks.
    client = AsyncClient(base_url=upstream.url, max_retries=0)
    app = create_app(client, log=lambda _: None)
    request = json.dumps({"model": "text/openai", "input": "one two", "stream": True}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(request)).encode())]
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/v1/responses", "raw_path": b"/v1/responses"}
    scope |= {"headers": headers, "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1"}
    scope |= {"asgi": {"version": "3.0"}, "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5)}
    received: list[Message] = [{"type": "http.request", "body": request, "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if received:
            return received.pop()
        await anyio.sleep_forever()  # the client stays until the answer ends
        raise AssertionError

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await app(scope, receive, send)
    finally:
        await client.aclose()
    pieces = [message for message in sent if message["type"] == "http.response.body"]
    kinds = [[line[7:] for line in m["body"].decode().split("\n") if line.startswith("event: ")] for m in pieces]
    assert kinds[0] == [*EVENTS, "response.output_text.delta"]
    assert kinds[-1 if anyio_backend == "asyncio" else -2] == [*CLOSING, "response.completed"]
    assert pieces[-1]["more_body"] is False
    if anyio_backend == "asyncio":
        assert all(piece["body"] for piece in pieces)

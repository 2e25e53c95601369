"""chat(), stream_chat(), conversations and media, for both clients (respx on the wire)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import respx
from conftest import BASE_URL, Dual
from wire import PNG, form_of, json_answer, multipart_of

from dynaspark_sdk import InvalidRequestError, MediaError, ModelNotSupportedError, spec

pytestmark = pytest.mark.anyio
CHAT = f"{BASE_URL}/dsai_fuck_u_spammer"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


async def test_chat_sends_the_form_and_returns_the_answer(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(
        return_value=json_answer(
            {"response": "Hi!"},
            headers={"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": "7"},
        )
    )
    dual = make_dual()
    answer = await dual.call("chat", "Hello there")
    assert answer.text == "Hi!"
    assert answer.model == "gemini-1.5-flash-8b"  # the default, through its alias
    assert (answer.rate_limit.limit, answer.rate_limit.remaining, answer.rate_limit.reset) == (100, 99, 7)
    assert dual.client.rate_limit == answer.rate_limit
    request = route.calls.last.request
    assert form_of(request) == {"user_input": "Hello there", "ai_model": "gemini-1.5-flash-8b"}
    assert request.headers["origin"] == BASE_URL
    assert request.headers["referer"] == BASE_URL + "/"
    assert request.headers["x-requested-with"] == "XMLHttpRequest"
    assert "api_key" not in str(request.url)


async def test_the_page_headers_carry_no_user_info_of_the_base_url(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    """A base URL with a user and password (a proxy in front of the service) still sends the
    page's Origin and Referer as a page has them: scheme and host, no credentials."""
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "Hi!"}))
    dual = make_dual(base_url=BASE_URL.replace("://", "://alice:s3cret@"))
    assert (await dual.call("chat", "Hello there")).text == "Hi!"
    request = route.calls.last.request
    assert (request.headers["origin"], request.headers["referer"]) == (BASE_URL, BASE_URL + "/")
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()


async def test_history_is_folded_like_gpt4free(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "   "},
        {"role": "USER", "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "2+2?"}]},
    ]
    await make_dual().call("chat", messages, model="gemini-2.0-flash-lite")
    sent = form_of(route.calls.last.request)
    assert sent["user_input"] == "System: Be brief.\nUser: Hi\nUser: What is 2+2?\nAssistant:"
    assert sent["ai_model"] == "gemini-2.0-flash-lite"


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        (None, "gemini-1.5-flash-8b"),
        ("", "gemini-1.5-flash-8b"),
        ("gemini-2.0-flash", "gemini-2.0-flash-lite"),
        ("gemini-1.5-flash-8b", "gemini-1.5-flash-8b"),
    ],
)
async def test_model_resolution(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, asked: str | None, sent: str
) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    answer = await make_dual().call("chat", "hi", model=asked)
    assert form_of(route.calls.last.request)["ai_model"] == sent
    assert answer.model == sent


@pytest.mark.parametrize(
    ("asked", "sent"),
    [(None, "gemini-1.5-flash"), ("", "gemini-1.5-flash"), ("gemini-2.0-flash", "gemini-2.0-flash")],
)
async def test_resolve_alias_false_sends_a_listed_name_as_given(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, asked: str | None, sent: str
) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    dual = make_dual()
    answer = await dual.call("chat", "hi", model=asked, resolve_alias=False)
    assert form_of(route.calls.last.request)["ai_model"] == sent
    assert answer.model == sent
    await dual.collect(dual.client.stream_chat("hi", model=asked, resolve_alias=False))
    assert form_of(route.calls.last.request)["ai_model"] == sent
    with pytest.raises(ModelNotSupportedError):
        await dual.call("chat", "hi", model="gpt-4o", resolve_alias=False)
    assert route.call_count == 2


async def test_unknown_model_fails_before_any_request(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT)
    with pytest.raises(ModelNotSupportedError) as caught:
        await make_dual().call("chat", "hi", model="gpt-4o")
    assert isinstance(caught.value, ValueError)
    for model in spec.CHAT_MODELS:
        assert model in str(caught.value)
    assert not route.called


@pytest.mark.parametrize(
    "messages",
    [[], "", "   ", [{"role": "user"}], [{"role": "user", "content": 3}], [{"content": "x"}], 42],
)
async def test_bad_messages_fail_before_any_request(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, messages: object
) -> None:
    route = mock.post(CHAT)
    with pytest.raises(InvalidRequestError):
        await make_dual().call("chat", messages)
    assert not route.called


async def test_image_goes_as_multipart_with_filename_type_and_a_random_boundary(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "a cat"}))
    # A prompt holding the generator's fixed boundary must not corrupt the body.
    prompt = "look:\r\n--+++\r\nContent-Disposition: form-data; name=ai_model\r\n\r\nevil\r\n--+++--"
    await make_dual().call("chat", prompt, media=[(PNG, "cat.png")])
    request = route.calls.last.request
    assert "boundary=+++" not in request.headers["content-type"]
    parts = multipart_of(request)
    assert parts["user_input"]["value"].decode() == prompt
    assert parts["ai_model"]["value"] == b"gemini-1.5-flash-8b"
    assert parts["file"] == {"value": PNG, "filename": "cat.png", "content_type": "image/png"}


async def test_image_from_a_path_and_from_an_image_url_part(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    picture = tmp_path / "photo.png"
    picture.write_bytes(PNG)
    dual = make_dual()
    await dual.call("chat", "what is this?", media=picture)
    assert multipart_of(route.calls.last.request)["file"]["filename"] == "photo.png"

    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    parts = [{"type": "text", "text": "and this?"}, {"type": "image_url", "image_url": {"url": data_uri}}]
    await dual.call("chat", [{"role": "user", "content": parts}])
    sent = multipart_of(route.calls.last.request)
    assert sent["user_input"]["value"] == b"and this?"
    assert sent["file"]["value"] == PNG
    assert sent["file"]["content_type"] == "image/png"


async def test_an_image_url_is_fetched_through_the_client(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    picture = mock.get("https://images.example/cat").mock(
        return_value=httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
    )
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    await make_dual().call("chat", "describe", media="https://images.example/cat")
    assert picture.called
    assert "api_key" not in str(picture.calls.last.request.url)
    assert multipart_of(route.calls.last.request)["file"]["value"] == PNG


async def test_two_images_fail_before_any_request(make_dual: Callable[..., Dual], mock: respx.MockRouter) -> None:
    route = mock.post(CHAT)
    with pytest.raises(MediaError, match="one image per request, got 2"):
        await make_dual().call("chat", "hi", media=[(PNG, "a.png"), (PNG, "b.png")])
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    parts = [{"type": "text", "text": "and this?"}, {"type": "image_url", "image_url": data_uri}]
    with_part = [{"role": "user", "content": parts}]
    with pytest.raises(MediaError, match="got 2"):
        await make_dual().call("chat", with_part, media=PNG)
    assert not route.called


async def test_not_an_image_fails_before_any_request(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = mock.post(CHAT)
    with pytest.raises(MediaError):
        await make_dual().call("chat", "hi", media=b"%PDF-1.7 not an image")
    with pytest.raises(MediaError, match=r"missing\.png"):
        await make_dual().call("chat", "hi", media=tmp_path / "missing.png")
    with pytest.raises(MediaError):
        await make_dual(max_media_bytes=10).call("chat", "hi", media=PNG)
    assert not route.called


async def test_an_image_part_is_never_read_from_a_local_file(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, tmp_path: Path
) -> None:
    """A message's image_url part must be a data: URI or an http(s) URL: a path in it is
    refused, not read (messages are data, often passed on from elsewhere, as the gateway does);
    the same path given as media= is sent."""
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "ok"}))
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    parts = [{"type": "text", "text": "and this?"}, {"type": "image_url", "image_url": {"url": str(image)}}]
    expected = rf"^an image URL must be a data: URI or an http\(s\) URL, not {re.escape(repr(str(image)))}: "
    with pytest.raises(MediaError, match=expected + "give an image file as media=$"):
        await make_dual().call("chat", [{"role": "user", "content": parts}])
    assert not route.called
    await make_dual().call("chat", "and this?", media=image)
    assert multipart_of(route.calls.last.request)["file"]["value"] == PNG


async def test_a_streamed_chat_checks_its_image_when_it_starts(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, tmp_path: Path
) -> None:
    """stream_chat() checks the model and the messages at the call; an image given as media=
    is read and checked when the stream starts (off the event loop for the async client), and
    a refused one raises from iteration before anything is sent."""
    route = mock.post(CHAT)
    dual = make_dual()
    with pytest.raises(ModelNotSupportedError):
        dual.client.stream_chat("hi", model="no-such-model", media=tmp_path / "missing.png")
    stream = dual.client.stream_chat("hi", media=tmp_path / "missing.png")
    with pytest.raises(MediaError, match=r"missing\.png"):
        await dual.collect(stream)
    assert not route.called


async def test_chat_stream_of_a_json_answer_is_one_chunk(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mock.post(CHAT).mock(return_value=json_answer({"response": "whole answer"}))
    dual = make_dual()
    stream = dual.client.stream_chat("hi")
    assert await dual.collect(stream) == ["whole answer"]
    assert stream.text == "whole answer"
    assert stream.completed


async def test_conversation_folds_previous_turns_and_restores(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    replies = iter(["Red.", "Blue."])
    route = mock.post(CHAT).mock(side_effect=lambda request: json_answer({"response": next(replies)}))
    dual = make_dual()
    chat = dual.client.conversation(system="Be terse.")
    await dual.resolve(chat.send("Name a colour."))
    await dual.resolve(chat.send("Another?"))
    assert form_of(route.calls[0].request)["user_input"] == "System: Be terse.\nUser: Name a colour.\nAssistant:"
    assert form_of(route.calls[1].request)["user_input"] == (
        "System: Be terse.\nUser: Name a colour.\nAssistant: Red.\nUser: Another?\nAssistant:"
    )
    saved = json.loads(json.dumps(chat.messages))
    assert saved[-1] == {"role": "assistant", "content": "Blue."}

    restored = dual.client.conversation(messages=saved)
    replies = iter(["Green."])
    await dual.resolve(restored.send("One more?"))
    assert form_of(route.calls[2].request)["user_input"].startswith("System: Be terse.\nUser: Name a colour.")
    assert len(restored.messages) == len(saved) + 2


async def test_conversation_max_prompt_chars_drops_oldest_turns(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    route = mock.post(CHAT).mock(return_value=json_answer({"response": "x" * 40}))
    dual = make_dual()
    chat = dual.client.conversation(system="S", max_prompt_chars=120)
    for turn in range(4):
        await dual.resolve(chat.send(f"question {turn} " + "q" * 20))
    sent = form_of(route.calls.last.request)["user_input"]
    assert len(sent) <= 120
    assert sent.startswith("System: S\n")
    assert "question 3" in sent  # the newest user message is always there
    assert "question 0" not in sent
    assert chat.last_dropped > 0
    assert len(chat.messages) == 1 + 2 * 4  # the history itself keeps everything
    with pytest.raises(InvalidRequestError, match="max_prompt_chars"):
        await dual.resolve(chat.send("z" * 200))


async def test_conversation_records_a_streamed_reply_only_when_complete(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    mock.post(CHAT).mock(return_value=json_answer({"response": "streamed"}))
    dual = make_dual()
    chat = dual.client.conversation()
    stream = chat.stream("hi")
    assert chat.messages == []
    assert await dual.collect(stream) == ["streamed"]
    assert chat.messages == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "streamed"}]

    mock.post(CHAT).mock(return_value=httpx.Response(400, json={"error": "nope"}))
    with pytest.raises(Exception, match="nope"):
        await dual.collect(chat.stream("again"))
    assert len(chat.messages) == 2


@pytest.mark.parametrize("message", [5, ["hi"], b"hi"], ids=repr)
async def test_a_conversation_message_that_is_not_a_string_is_refused_as_such(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, message: object
) -> None:
    route = mock.post(CHAT)
    dual = make_dual()
    conversation = dual.client.conversation()
    expected = rf"^the message must be a string, not {type(message).__name__}$"
    with pytest.raises(InvalidRequestError, match=expected):
        await dual.resolve(conversation.send(message))
    with pytest.raises(InvalidRequestError, match=expected):
        await dual.collect(conversation.stream(message))
    with pytest.raises(InvalidRequestError, match=r"^the message is empty$"):
        await dual.resolve(conversation.send("  "))
    assert not route.called
    assert conversation.messages == []


async def test_a_conversation_sent_nothing_asks_for_a_message(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    """No message is allowed only after tool results (see test_structured_sdk.py)."""
    route = mock.post(CHAT)
    dual = make_dual()
    conversation = dual.client.conversation()
    expected = r"^give the next message \(only tool results can be sent without one\)$"
    with pytest.raises(InvalidRequestError, match=expected):
        await dual.resolve(conversation.send(None))
    with pytest.raises(InvalidRequestError, match=expected):
        await dual.collect(conversation.stream())
    assert not route.called
    assert conversation.messages == []


@pytest.mark.parametrize("method", ["generate_text", "stream_text"])
async def test_a_text_call_given_an_image_names_the_method_called(
    make_dual: Callable[..., Dual], mock: respx.MockRouter, method: str
) -> None:
    route = mock.get(f"{BASE_URL}/api/generate_response")
    parts = [{"type": "text", "text": "and this?"}, {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]
    dual = make_dual()

    async def attempt() -> None:
        result = getattr(dual.client, method)([{"role": "user", "content": parts}])
        await (dual.collect(result) if method == "stream_text" else dual.resolve(result))

    with pytest.raises(InvalidRequestError, match=rf"^{method} takes no images; send images with chat\(\)$"):
        await attempt()
    assert not route.called


async def test_a_cookie_the_service_sets_goes_back_with_the_next_call(
    make_dual: Callable[..., Dual], mock: respx.MockRouter
) -> None:
    """Answers without Set-Cookie skip httpx's cookie extraction (a CPU saving); one with it
    is still kept, and sent with the following requests, as httpx does."""
    route = mock.post(CHAT).mock(
        side_effect=[
            json_answer({"response": "one"}),
            json_answer({"response": "two"}, headers={"Set-Cookie": "session=abc; Path=/"}),
            json_answer({"response": "three"}),
            json_answer({"response": "four"}),
        ]
    )
    dual = make_dual()
    for _ in range(4):
        await dual.call("chat", "Hello")
    sent = [call.request.headers.get("cookie") for call in route.calls]
    assert sent == [None, None, "session=abc", "session=abc"]

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.query_boolean_type_1 import QueryBooleanType1
from ...models.text_answer import TextAnswer
from ...models.voice import Voice
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    user_input: str,
    api_key: str | Unset = UNSET,
    model: str | Unset = UNSET,
    temperature: float | Unset = UNSET,
    top_p: float | Unset = UNSET,
    presence_penalty: float | Unset = UNSET,
    frequency_penalty: float | Unset = UNSET,
    json: bool | QueryBooleanType1 | Unset = UNSET,
    system: str | Unset = UNSET,
    stream: bool | QueryBooleanType1 | Unset = UNSET,
    private: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    referrer: str | Unset = UNSET,
    voice: Voice | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["user_input"] = user_input

    params["api_key"] = api_key

    params["model"] = model

    params["temperature"] = temperature

    params["top_p"] = top_p

    params["presence_penalty"] = presence_penalty

    params["frequency_penalty"] = frequency_penalty

    json_json: bool | str | Unset
    if isinstance(json, Unset):
        json_json = UNSET
    elif isinstance(json, QueryBooleanType1):
        json_json = json.value
    else:
        json_json = json
    params["json"] = json_json

    params["system"] = system

    json_stream: bool | str | Unset
    if isinstance(stream, Unset):
        json_stream = UNSET
    elif isinstance(stream, QueryBooleanType1):
        json_stream = stream.value
    else:
        json_stream = stream
    params["stream"] = json_stream

    json_private: bool | str | Unset
    if isinstance(private, Unset):
        json_private = UNSET
    elif isinstance(private, QueryBooleanType1):
        json_private = private.value
    else:
        json_private = private
    params["private"] = json_private

    params["seed"] = seed

    params["referrer"] = referrer

    json_voice: str | Unset = UNSET
    if not isinstance(voice, Unset):
        json_voice = voice.value

    params["voice"] = json_voice

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/generate_response",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | TextAnswer | None:
    if response.status_code == 200:
        response_200 = TextAnswer.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | TextAnswer]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    user_input: str,
    api_key: str | Unset = UNSET,
    model: str | Unset = UNSET,
    temperature: float | Unset = UNSET,
    top_p: float | Unset = UNSET,
    presence_penalty: float | Unset = UNSET,
    frequency_penalty: float | Unset = UNSET,
    json: bool | QueryBooleanType1 | Unset = UNSET,
    system: str | Unset = UNSET,
    stream: bool | QueryBooleanType1 | Unset = UNSET,
    private: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    referrer: str | Unset = UNSET,
    voice: Voice | Unset = UNSET,
) -> Response[Error | TextAnswer]:
    """Generate text (JSON or a server-sent-event stream) or speech (MP3).

     With `model=openai-audio` and a `voice`, the answer is MP3 audio (`audio/mpeg`).
    With `stream=true` the answer is a `text/event-stream`.

    Args:
        user_input (str):
        api_key (str | Unset):
        model (str | Unset):
        temperature (float | Unset):
        top_p (float | Unset):
        presence_penalty (float | Unset):
        frequency_penalty (float | Unset):
        json (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        system (str | Unset):
        stream (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        private (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        referrer (str | Unset):
        voice (Voice | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TextAnswer]
    """

    kwargs = _get_kwargs(
        user_input=user_input,
        api_key=api_key,
        model=model,
        temperature=temperature,
        top_p=top_p,
        presence_penalty=presence_penalty,
        frequency_penalty=frequency_penalty,
        json=json,
        system=system,
        stream=stream,
        private=private,
        seed=seed,
        referrer=referrer,
        voice=voice,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    user_input: str,
    api_key: str | Unset = UNSET,
    model: str | Unset = UNSET,
    temperature: float | Unset = UNSET,
    top_p: float | Unset = UNSET,
    presence_penalty: float | Unset = UNSET,
    frequency_penalty: float | Unset = UNSET,
    json: bool | QueryBooleanType1 | Unset = UNSET,
    system: str | Unset = UNSET,
    stream: bool | QueryBooleanType1 | Unset = UNSET,
    private: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    referrer: str | Unset = UNSET,
    voice: Voice | Unset = UNSET,
) -> Error | TextAnswer | None:
    """Generate text (JSON or a server-sent-event stream) or speech (MP3).

     With `model=openai-audio` and a `voice`, the answer is MP3 audio (`audio/mpeg`).
    With `stream=true` the answer is a `text/event-stream`.

    Args:
        user_input (str):
        api_key (str | Unset):
        model (str | Unset):
        temperature (float | Unset):
        top_p (float | Unset):
        presence_penalty (float | Unset):
        frequency_penalty (float | Unset):
        json (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        system (str | Unset):
        stream (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        private (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        referrer (str | Unset):
        voice (Voice | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TextAnswer
    """

    return sync_detailed(
        client=client,
        user_input=user_input,
        api_key=api_key,
        model=model,
        temperature=temperature,
        top_p=top_p,
        presence_penalty=presence_penalty,
        frequency_penalty=frequency_penalty,
        json=json,
        system=system,
        stream=stream,
        private=private,
        seed=seed,
        referrer=referrer,
        voice=voice,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    user_input: str,
    api_key: str | Unset = UNSET,
    model: str | Unset = UNSET,
    temperature: float | Unset = UNSET,
    top_p: float | Unset = UNSET,
    presence_penalty: float | Unset = UNSET,
    frequency_penalty: float | Unset = UNSET,
    json: bool | QueryBooleanType1 | Unset = UNSET,
    system: str | Unset = UNSET,
    stream: bool | QueryBooleanType1 | Unset = UNSET,
    private: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    referrer: str | Unset = UNSET,
    voice: Voice | Unset = UNSET,
) -> Response[Error | TextAnswer]:
    """Generate text (JSON or a server-sent-event stream) or speech (MP3).

     With `model=openai-audio` and a `voice`, the answer is MP3 audio (`audio/mpeg`).
    With `stream=true` the answer is a `text/event-stream`.

    Args:
        user_input (str):
        api_key (str | Unset):
        model (str | Unset):
        temperature (float | Unset):
        top_p (float | Unset):
        presence_penalty (float | Unset):
        frequency_penalty (float | Unset):
        json (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        system (str | Unset):
        stream (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        private (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        referrer (str | Unset):
        voice (Voice | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TextAnswer]
    """

    kwargs = _get_kwargs(
        user_input=user_input,
        api_key=api_key,
        model=model,
        temperature=temperature,
        top_p=top_p,
        presence_penalty=presence_penalty,
        frequency_penalty=frequency_penalty,
        json=json,
        system=system,
        stream=stream,
        private=private,
        seed=seed,
        referrer=referrer,
        voice=voice,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    user_input: str,
    api_key: str | Unset = UNSET,
    model: str | Unset = UNSET,
    temperature: float | Unset = UNSET,
    top_p: float | Unset = UNSET,
    presence_penalty: float | Unset = UNSET,
    frequency_penalty: float | Unset = UNSET,
    json: bool | QueryBooleanType1 | Unset = UNSET,
    system: str | Unset = UNSET,
    stream: bool | QueryBooleanType1 | Unset = UNSET,
    private: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    referrer: str | Unset = UNSET,
    voice: Voice | Unset = UNSET,
) -> Error | TextAnswer | None:
    """Generate text (JSON or a server-sent-event stream) or speech (MP3).

     With `model=openai-audio` and a `voice`, the answer is MP3 audio (`audio/mpeg`).
    With `stream=true` the answer is a `text/event-stream`.

    Args:
        user_input (str):
        api_key (str | Unset):
        model (str | Unset):
        temperature (float | Unset):
        top_p (float | Unset):
        presence_penalty (float | Unset):
        frequency_penalty (float | Unset):
        json (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        system (str | Unset):
        stream (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        private (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        referrer (str | Unset):
        voice (Voice | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TextAnswer
    """

    return (
        await asyncio_detailed(
            client=client,
            user_input=user_input,
            api_key=api_key,
            model=model,
            temperature=temperature,
            top_p=top_p,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            json=json,
            system=system,
            stream=stream,
            private=private,
            seed=seed,
            referrer=referrer,
            voice=voice,
        )
    ).parsed

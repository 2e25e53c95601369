from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.chat_answer import ChatAnswer
from ...models.chat_form import ChatForm
from ...models.chat_form_no_image import ChatFormNoImage
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: ChatForm | ChatFormNoImage | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/generate_response",
    }

    if isinstance(body, ChatForm):
        _kwargs["files"] = body.to_multipart()

        headers["Content-Type"] = "multipart/form-data; boundary=+++"
    if isinstance(body, ChatFormNoImage):
        _kwargs["data"] = body.to_dict()
        headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ChatAnswer | Error | None:
    if response.status_code == 200:
        response_200 = ChatAnswer.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ChatAnswer | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ChatForm | ChatFormNoImage | Unset = UNSET,
) -> Response[ChatAnswer | Error]:
    """The chat endpoint's previous path (the same form and answer as `chat`).

     Where gpt4free's provider posted chat from 0.4.9.0 to 0.5.2.2 (2025-03-21 to 05-06).
    Superseded by `/dsai_fuck_u_spammer`; kept because whether the live service still
    answers here is unknown (ASSUMED: it may). Clients use it only when the newer path
    answers 404 or 405, or when pinned to it.

    Args:
        body (ChatForm):
        body (ChatFormNoImage):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChatAnswer | Error]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ChatForm | ChatFormNoImage | Unset = UNSET,
) -> ChatAnswer | Error | None:
    """The chat endpoint's previous path (the same form and answer as `chat`).

     Where gpt4free's provider posted chat from 0.4.9.0 to 0.5.2.2 (2025-03-21 to 05-06).
    Superseded by `/dsai_fuck_u_spammer`; kept because whether the live service still
    answers here is unknown (ASSUMED: it may). Clients use it only when the newer path
    answers 404 or 405, or when pinned to it.

    Args:
        body (ChatForm):
        body (ChatFormNoImage):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChatAnswer | Error
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ChatForm | ChatFormNoImage | Unset = UNSET,
) -> Response[ChatAnswer | Error]:
    """The chat endpoint's previous path (the same form and answer as `chat`).

     Where gpt4free's provider posted chat from 0.4.9.0 to 0.5.2.2 (2025-03-21 to 05-06).
    Superseded by `/dsai_fuck_u_spammer`; kept because whether the live service still
    answers here is unknown (ASSUMED: it may). Clients use it only when the newer path
    answers 404 or 405, or when pinned to it.

    Args:
        body (ChatForm):
        body (ChatFormNoImage):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ChatAnswer | Error]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ChatForm | ChatFormNoImage | Unset = UNSET,
) -> ChatAnswer | Error | None:
    """The chat endpoint's previous path (the same form and answer as `chat`).

     Where gpt4free's provider posted chat from 0.4.9.0 to 0.5.2.2 (2025-03-21 to 05-06).
    Superseded by `/dsai_fuck_u_spammer`; kept because whether the live service still
    answers here is unknown (ASSUMED: it may). Clients use it only when the newer path
    answers 404 or 405, or when pinned to it.

    Args:
        body (ChatForm):
        body (ChatFormNoImage):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ChatAnswer | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.image_answer import ImageAnswer
from ...models.image_model import ImageModel
from ...models.query_boolean_type_1 import QueryBooleanType1
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    user_input: str,
    api_key: str | Unset = UNSET,
    width: int | Unset = 768,
    height: int | Unset = 768,
    model: ImageModel | Unset = UNSET,
    nologo: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    wm: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["user_input"] = user_input

    params["api_key"] = api_key

    params["width"] = width

    params["height"] = height

    json_model: str | Unset = UNSET
    if not isinstance(model, Unset):
        json_model = model.value

    params["model"] = json_model

    json_nologo: bool | str | Unset
    if isinstance(nologo, Unset):
        json_nologo = UNSET
    elif isinstance(nologo, QueryBooleanType1):
        json_nologo = nologo.value
    else:
        json_nologo = nologo
    params["nologo"] = json_nologo

    params["seed"] = seed

    params["wm"] = wm

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/generate_image",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | ImageAnswer | None:
    if response.status_code == 200:
        response_200 = ImageAnswer.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | ImageAnswer]:
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
    width: int | Unset = 768,
    height: int | Unset = 768,
    model: ImageModel | Unset = UNSET,
    nologo: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    wm: str | Unset = UNSET,
) -> Response[Error | ImageAnswer]:
    """Generate an image; the answer holds a URL valid for 24 hours.

    Args:
        user_input (str):
        api_key (str | Unset):
        width (int | Unset):  Default: 768.
        height (int | Unset):  Default: 768.
        model (ImageModel | Unset): ASSUMED: `flux` is the default when no model is given.
        nologo (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        wm (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ImageAnswer]
    """

    kwargs = _get_kwargs(
        user_input=user_input,
        api_key=api_key,
        width=width,
        height=height,
        model=model,
        nologo=nologo,
        seed=seed,
        wm=wm,
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
    width: int | Unset = 768,
    height: int | Unset = 768,
    model: ImageModel | Unset = UNSET,
    nologo: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    wm: str | Unset = UNSET,
) -> Error | ImageAnswer | None:
    """Generate an image; the answer holds a URL valid for 24 hours.

    Args:
        user_input (str):
        api_key (str | Unset):
        width (int | Unset):  Default: 768.
        height (int | Unset):  Default: 768.
        model (ImageModel | Unset): ASSUMED: `flux` is the default when no model is given.
        nologo (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        wm (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ImageAnswer
    """

    return sync_detailed(
        client=client,
        user_input=user_input,
        api_key=api_key,
        width=width,
        height=height,
        model=model,
        nologo=nologo,
        seed=seed,
        wm=wm,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    user_input: str,
    api_key: str | Unset = UNSET,
    width: int | Unset = 768,
    height: int | Unset = 768,
    model: ImageModel | Unset = UNSET,
    nologo: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    wm: str | Unset = UNSET,
) -> Response[Error | ImageAnswer]:
    """Generate an image; the answer holds a URL valid for 24 hours.

    Args:
        user_input (str):
        api_key (str | Unset):
        width (int | Unset):  Default: 768.
        height (int | Unset):  Default: 768.
        model (ImageModel | Unset): ASSUMED: `flux` is the default when no model is given.
        nologo (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        wm (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | ImageAnswer]
    """

    kwargs = _get_kwargs(
        user_input=user_input,
        api_key=api_key,
        width=width,
        height=height,
        model=model,
        nologo=nologo,
        seed=seed,
        wm=wm,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    user_input: str,
    api_key: str | Unset = UNSET,
    width: int | Unset = 768,
    height: int | Unset = 768,
    model: ImageModel | Unset = UNSET,
    nologo: bool | QueryBooleanType1 | Unset = UNSET,
    seed: int | Unset = UNSET,
    wm: str | Unset = UNSET,
) -> Error | ImageAnswer | None:
    """Generate an image; the answer holds a URL valid for 24 hours.

    Args:
        user_input (str):
        api_key (str | Unset):
        width (int | Unset):  Default: 768.
        height (int | Unset):  Default: 768.
        model (ImageModel | Unset): ASSUMED: `flux` is the default when no model is given.
        nologo (bool | QueryBooleanType1 | Unset): A boolean query parameter. The service accepts
            `true` / `false` and also `True` /
            `False`: its own Python client (`dynaspark` 1.2.2.3) puts `str()` of a Python bool
            into the query, and the service answers it. Clients may send either spelling.
        seed (int | Unset):
        wm (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | ImageAnswer
    """

    return (
        await asyncio_detailed(
            client=client,
            user_input=user_input,
            api_key=api_key,
            width=width,
            height=height,
            model=model,
            nologo=nologo,
            seed=seed,
            wm=wm,
        )
    ).parsed

"""The image operation (GET /api/generate_image; `_generated/api/public/generate_image.py`):
its options, checks, request plan, the parsing of its answer and its call. No I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from dynaspark_sdk._answers import _optional_int, _required_string, json_answer
from dynaspark_sdk._errors import ResponseValidationError
from dynaspark_sdk._generated.types import UNSET, Unset
from dynaspark_sdk._operations import Call, answer_meta
from dynaspark_sdk._plans import RequestPlan, _check_url_length, _key, _optional, _prompt
from dynaspark_sdk._results import AsyncImageResult, ImageResult
from dynaspark_sdk._secrets import ApiKey, redact

if TYPE_CHECKING:
    from dynaspark_sdk._flow import Answer
    from dynaspark_sdk._settings import Settings

R = TypeVar("R", ImageResult, AsyncImageResult)

__all__ = ["ImageOptions", "image_call", "parse_image_fields", "plan_image"]


@attrs.frozen(kw_only=True)
class ImageOptions:
    """The optional parameters of GET /api/generate_image, unchecked."""

    width: int | None = None
    height: int | None = None
    model: str | None = None
    nologo: bool | None = None
    seed: int | None = None
    watermark: str | None = None


def plan_image(prompt: str, options: ImageOptions, *, api_key: ApiKey | None, base_url_bytes: int) -> RequestPlan:
    """GET /api/generate_image."""
    from dynaspark_sdk._generated.api.public import generate_image as image_api
    from dynaspark_sdk._generated.models import ImageModel

    op = "generate_image"
    _prompt(prompt, op)
    model = _optional(op, "model", options.model)
    kwargs = image_api._get_kwargs(
        user_input=prompt,
        api_key=_key(api_key),
        width=_optional(op, "width", options.width),
        height=_optional(op, "height", options.height),
        model=UNSET if isinstance(model, Unset) else ImageModel(model),
        nologo=_optional(op, "nologo", options.nologo),
        seed=_optional(op, "seed", options.seed),
        wm=_optional(op, "wm", options.watermark),
    )
    _check_url_length(kwargs["url"], kwargs["params"], base_url_bytes)
    return RequestPlan(operation=op, expect="json", model=options.model, make=lambda _payload, _image: kwargs)


def parse_image_fields(status: int, headers: Mapping[str, str], body: bytes) -> tuple[str, str | None, int | None]:
    """(url, model, seed) of an image answer."""
    data = json_answer(status, headers, body)
    url = _required_string(data, "image_url", status, headers)
    if not url.lower().startswith(("http://", "https://")):
        raise ResponseValidationError(
            f"the image URL is not http(s): {redact(url[:200])}",
            status_code=status,
            content_type="application/json",
        )
    model = data.get("model") if isinstance(data.get("model"), str) else None
    return url, model, _optional_int(data.get("seed"))


def image_call(
    settings: Settings, prompt: str, options: ImageOptions, *, result: type[R], fetch: Callable[[str], Any]
) -> Call[R]:
    """GET /api/generate_image; the answer becomes `result` (the client's kind of image result),
    which downloads the image through `fetch`."""
    plan = plan_image(prompt, options, api_key=settings.api_key, base_url_bytes=settings.base_url_bytes)

    def parse(answer: Answer) -> R:
        url, model, seed = parse_image_fields(answer.status, answer.headers, answer.body)
        return result(url=url, model=model, seed=seed, fetch=fetch, **answer_meta(answer))

    return plan, parse

"""`/v1/images/generations`: the request checked into an `ImagePlan`."""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from .errors import bad_request, model_not_found
from .models import IMAGE_MODEL_NAMES
from .parameters import ParameterPolicy, object_body, string

__all__ = ["ImagePlan", "parse_image"]


@attrs.frozen
class ImagePlan:
    """A checked `/v1/images/generations` request (`model` None: the service's default)."""

    prompt: str
    model: str | None
    width: int | None
    height: int | None
    b64_json: bool
    ignored: tuple[str, ...] = ()


_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")


def parse_image(body: object, image_models: Sequence[str], policy: ParameterPolicy) -> ImagePlan:
    """Check an `/v1/images/generations` body. Raises GatewayError."""
    request = object_body(body)
    prompt = string(request, "prompt")
    assert prompt is not None
    ignored = policy.check(request)
    model = string(request, "model", required=False)
    if model is not None and model not in image_models:
        if model not in IMAGE_MODEL_NAMES:
            raise model_not_found(model, [*image_models, *IMAGE_MODEL_NAMES])
        model = None
    size = string(request, "size", required=False)
    width = height = None
    if size is not None and size != "auto":
        match = _SIZE.fullmatch(size)
        if match is None:
            raise bad_request(f"'size' must be 'WIDTHxHEIGHT' (e.g. '1024x768') or 'auto', not {size!r}", param="size")
        width, height = int(match.group(1)), int(match.group(2))
    response_format = string(request, "response_format", required=False) or "url"
    if response_format not in ("url", "b64_json"):
        raise bad_request(
            f"'response_format' must be 'url' or 'b64_json', not {response_format!r}", param="response_format"
        )
    return ImagePlan(prompt, model, width, height, response_format == "b64_json", ignored)

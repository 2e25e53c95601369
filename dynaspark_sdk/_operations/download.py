"""Downloading an absolute URL (an image result's image, or an image URL to send): a plain
GET outside the API, its request plan, the parsing of its answer and its call. No I/O."""

from __future__ import annotations

from collections.abc import Mapping

from dynaspark_sdk._answers import media_type
from dynaspark_sdk._errors import ResponseValidationError, excerpt
from dynaspark_sdk._media import detect_image_type
from dynaspark_sdk._operations import Call
from dynaspark_sdk._plans import RequestPlan
from dynaspark_sdk._secrets import redact

__all__ = ["download_call", "fetch_plan", "parse_image_bytes"]


def fetch_plan(url: str) -> RequestPlan:
    """A plain GET of an absolute URL (an image to download or to send).

    Such a fetch is not an API call: it neither waits for nor changes the service's rate-limit
    state, and carries none of the user's headers (see `Settings.request_args`).
    """
    return RequestPlan(
        operation="fetch", expect="image", model=None, make=lambda _payload, _image: {"method": "GET", "url": url}
    )


def parse_image_bytes(status: int, headers: Mapping[str, str], body: bytes) -> bytes:
    """The downloaded image, checked by its magic bytes."""
    if detect_image_type(body[:16]) is None:
        raise ResponseValidationError(
            f"the image URL gave no image (status {status}, content type {media_type(headers) or 'none'},"
            f" {len(body)} bytes): {redact(excerpt(body))}",
            status_code=status,
            content_type=media_type(headers),
            body_excerpt=redact(excerpt(body)),
        )
    return body


def download_call(url: str) -> Call[bytes]:
    """GET an image result's URL (anywhere, no API key): the image's bytes, checked to be one."""
    return fetch_plan(url), lambda answer: parse_image_bytes(answer.status, answer.headers, answer.body)

"""What the clients return. Plain, immutable data; the image results can fetch their image.

Every result pickles (a `ProcessPoolExecutor` worker can return one) and has `to_dict()`, a
JSON-ready dict of its fields.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Self

import attrs

from ._rate_limit import RateLimit
from ._schemas import to_jsonable
from ._tools import ToolCall

__all__ = [
    "AsyncImageResult",
    "AudioResult",
    "ChatResponse",
    "ImageResult",
    "ServiceStatus",
    "TextResponse",
    "Usage",
]


def _write(path: str | os.PathLike[str], data: bytes, *, own_name: str | None = None) -> Path:
    """Write `data` to `path` ("~" expanded); into it, as `own_name`, when `path` is a folder."""
    target = Path(path).expanduser()  # "~/x.png" is the user's home, as in a shell
    if target.is_dir():
        if own_name is None:
            from ._errors import InvalidRequestError

            raise InvalidRequestError(f"{str(target)!r} is a folder: give the path of the file to write")
        target = target / own_name
    target.write_bytes(data)
    return target


def _write_image(path: str | os.PathLike[str], url: str, data: bytes) -> Path:
    """`_write` for an image: a folder gets it under the name its URL gives it."""
    from ._media import filename_from_url

    return _write(path, data, own_name=filename_from_url(url, data))


def _meta(headers: Mapping[str, str], rate_limit: RateLimit) -> dict[str, Any]:
    return {"headers": dict(headers.items()), "rate_limit": rate_limit.to_dict()}


def _rebuild_image(cls: type[Any], fields: dict[str, Any], fetch: Callable[[str], Any]) -> Any:
    return cls(**fields, fetch=fetch)


def _structured(tool_calls: tuple[ToolCall, ...], parsed: Any) -> dict[str, Any]:
    return {"tool_calls": [call.to_dict() for call in tool_calls], "parsed": to_jsonable(parsed)}


@attrs.frozen
class ChatResponse:
    """The answer of `chat()`: `text`, the `model` it was sent to, headers and rate limit.

    With `tools=`, `tool_calls` holds the calls the model made (validated `ToolCall`s; empty
    when it answered in text); with `response_format=`, `parsed` holds the answer as an instance
    of the model class, or the validated dict (None otherwise).
    """

    text: str
    model: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    tool_calls: tuple[ToolCall, ...] = ()
    parsed: Any = None

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (headers as a plain dict, rate_limit as a dict,
        `parsed` as plain JSON data)."""
        return {
            "text": self.text,
            "model": self.model,
            **_meta(self.headers, self.rate_limit),
            **_structured(self.tool_calls, self.parsed),
        }


@attrs.frozen
class Usage:
    """Token counts the public API reports."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    def to_dict(self) -> dict[str, int]:
        """The counts as a dict."""
        return attrs.asdict(self)


@attrs.frozen
class TextResponse:
    """The answer of `generate_text()`: `text`, `model`, `usage` (None when not reported);
    `tool_calls` and `parsed` as in `ChatResponse`."""

    text: str
    model: str | None
    usage: Usage | None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    tool_calls: tuple[ToolCall, ...] = ()
    parsed: Any = None

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (`usage` a dict or None)."""
        usage = self.usage.to_dict() if self.usage is not None else None
        return {
            "text": self.text,
            "model": self.model,
            "usage": usage,
            **_meta(self.headers, self.rate_limit),
            **_structured(self.tool_calls, self.parsed),
        }


@attrs.frozen
class AudioResult:
    """Speech from `generate_audio()`: MP3 `data` and its `content_type`."""

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    content_type: str
    voice: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the audio to `path` ("~" expands) and return it as a Path; a folder is refused
        with an InvalidRequestError (speech has no name of its own)."""
        return _write(path, self.data)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict; the audio is base64 text under `data_base64`."""
        return {
            "data_base64": base64.b64encode(self.data).decode("ascii"),
            "content_type": self.content_type,
            "voice": self.voice,
            **_meta(self.headers, self.rate_limit),
        }


class _ImageFields:
    """What both image results share: their dict form, and how they copy and pickle."""

    __slots__ = ()
    url: str
    model: str | None
    seed: int | None
    headers: Mapping[str, str]
    rate_limit: RateLimit

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict."""
        return {"url": self.url, "model": self.model, "seed": self.seed, **_meta(self.headers, self.rate_limit)}

    _fetch: Callable[[str], Any]

    def __reduce__(self) -> tuple[Any, ...]:
        # A client does not pickle; the shells' download function pickles as one that goes
        # through a short-lived default client (see `_Download` in the shells).
        fields = {"url": self.url, "model": self.model, "seed": self.seed, "headers": dict(self.headers.items())}
        return (_rebuild_image, (type(self), {**fields, "rate_limit": self.rate_limit}, self._fetch))

    def __copy__(self) -> Self:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        # A copy in this process keeps downloading through the same client.
        copied: Self = attrs.evolve(self, headers=dict(self.headers.items()))  # type: ignore[misc]
        return copied


@attrs.frozen
class ImageResult(_ImageFields):
    """An image from `generate_image()`: its `url` (valid 24 hours), `model` and `seed`.

    `download()` fetches it through the same client (checking that an image arrived);
    `save(path)` downloads and writes it. An unpickled result downloads through a
    short-lived default `Client`.
    """

    url: str
    model: str | None
    seed: int | None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    _fetch: Callable[[str], bytes] = attrs.field(alias="fetch", repr=False, eq=False, kw_only=True)

    def download(self) -> bytes:
        """The image's bytes; raises ResponseValidationError when what arrives is no image."""
        return self._fetch(self.url)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Download the image and write it to `path` ("~" expands); into it, under the name
        the image's URL gives it, when `path` is a folder. Returns where it was written."""
        return _write_image(path, self.url, self.download())


@attrs.frozen
class AsyncImageResult(_ImageFields):
    """`ImageResult` for `AsyncClient`: `await result.download()`, `await result.save(path)`.

    An unpickled result downloads through a short-lived default `AsyncClient`.
    """

    url: str
    model: str | None
    seed: int | None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)
    _fetch: Callable[[str], Awaitable[bytes]] = attrs.field(alias="fetch", repr=False, eq=False, kw_only=True)

    async def download(self) -> bytes:
        """The image's bytes; raises ResponseValidationError when what arrives is no image."""
        return await self._fetch(self.url)

    async def save(self, path: str | os.PathLike[str]) -> Path:
        """Download the image and write it to `path` ("~" expands); into it, under the name
        the image's URL gives it, when `path` is a folder. Returns where it was written."""
        return _write_image(path, self.url, await self.download())


@attrs.frozen
class ServiceStatus:
    """The answer of `status()`: `status` (e.g. "ok") and the whole JSON body in `details`."""

    status: str | None
    details: Mapping[str, Any] = attrs.field(factory=dict)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)

    @property
    def ok(self) -> bool:
        """Whether the service said it is up."""
        return (self.status or "").lower() in ("ok", "up", "online", "healthy", "running")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict, with `ok` too."""
        return {
            "status": self.status,
            "ok": self.ok,
            "details": dict(self.details),
            **_meta(self.headers, self.rate_limit),
        }

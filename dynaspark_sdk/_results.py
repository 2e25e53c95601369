"""What the clients return. Plain, immutable data; the image results can fetch their image."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ._rate_limit import RateLimit

__all__ = [
    "AsyncImageResult",
    "AudioResult",
    "ChatResponse",
    "ImageResult",
    "ServiceStatus",
    "TextResponse",
    "Usage",
]


def _write(path: str | os.PathLike[str], data: bytes) -> Path:
    target = Path(path).expanduser()  # "~/x.png" is the user's home, as in a shell
    target.write_bytes(data)
    return target


@attrs.frozen
class ChatResponse:
    """The answer of `chat()`: `text`, the `model` it was sent to, headers and rate limit."""

    text: str
    model: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)

    def __str__(self) -> str:
        return self.text


@attrs.frozen
class Usage:
    """Token counts the public API reports."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@attrs.frozen
class TextResponse:
    """The answer of `generate_text()`: `text`, `model`, `usage` (None when not reported)."""

    text: str
    model: str | None
    usage: Usage | None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)

    def __str__(self) -> str:
        return self.text


@attrs.frozen
class AudioResult:
    """Speech from `generate_audio()`: MP3 `data` and its `content_type`."""

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    content_type: str
    voice: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    rate_limit: RateLimit = attrs.field(factory=RateLimit)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the audio to `path` and return it as a Path."""
        return _write(path, self.data)


@attrs.frozen
class ImageResult:
    """An image from `generate_image()`: its `url` (valid 24 hours), `model` and `seed`.

    `download()` fetches it through the same client (checking that an image arrived);
    `save(path)` downloads and writes it.
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
        """Download the image and write it to `path`."""
        return _write(path, self.download())


@attrs.frozen
class AsyncImageResult:
    """`ImageResult` for `AsyncClient`: `await result.download()`, `await result.save(path)`."""

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
        """Download the image and write it to `path`."""
        return _write(path, await self.download())


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

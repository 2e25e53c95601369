"""What every text decoder shares: collecting chunks, whole-body reading, Content-Type parameters."""

from __future__ import annotations

import functools
import json


@functools.lru_cache(maxsize=64)  # answers of one service carry the same few values
def parse_content_type(content_type: str | None) -> tuple[str, str | None]:
    """(lower-case media type, charset parameter or None)."""
    if not content_type:
        return "", None
    media_type, _, parameters = content_type.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').strip() or None
    return media_type.strip().lower(), charset


class ChunkAccumulator:
    """`text` without the quadratic cost of `self.text += chunk` over a long stream."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self.done = False
        self.model: str | None = None

    @property
    def text(self) -> str:
        """Every chunk returned so far, concatenated (joined when read, then kept joined)."""
        pieces = self._pieces
        if not pieces:
            return ""
        if len(pieces) > 1:
            pieces[:] = ["".join(pieces)]
        return pieces[0]


class WholeBodyDecoder(ChunkAccumulator):
    """A decoder that can say nothing before the whole body is there: `feed` keeps the bytes."""

    def __init__(self) -> None:
        super().__init__()
        self._body: list[bytes] = []

    def feed(self, data: bytes) -> list[str]:
        """Keep the bytes; what they say is only known at `close()`."""
        if data:
            self._body.append(data)
        return []

    def _take_body(self) -> bytes:
        """The whole body, handed over once."""
        body = b"".join(self._body)
        self._body = []
        return body


def error_text(error: object) -> str:
    """The service's error text from an `"error"` value: a string, or an object with a message."""
    if isinstance(error, str):
        return error
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        message: str = error["message"]
        return message
    return json.dumps(error, ensure_ascii=False)

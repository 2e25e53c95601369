"""Other `text/*` answers: the text, decoded as it arrives."""

from __future__ import annotations

import codecs

from ._base import ChunkAccumulator


class PlainTextDecoder(ChunkAccumulator):
    """`text/*` (but HTML): the body is the answer, returned as soon as its bytes arrive.

    Decoded as UTF-8 unless the Content-Type names another charset Python knows; bytes that do
    not decode become U+FFFD.
    """

    def __init__(self, charset: str | None = None) -> None:
        super().__init__()
        encoding = charset if charset and _is_text_encoding(charset) else "utf-8"
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")

    def feed(self, data: bytes) -> list[str]:
        """The text these bytes complete (a character split across pieces waits for the rest)."""
        text = self._decoder.decode(data)
        if not text:
            return []
        self._pieces.append(text)
        return [text]

    def close(self) -> list[str]:
        """The text of bytes held back at the end (an incomplete character becomes U+FFFD)."""
        text = self._decoder.decode(b"", True)
        if not text:
            return []
        self._pieces.append(text)
        return [text]


def _is_text_encoding(name: str) -> bool:
    # codecs also knows bytes-to-bytes codecs such as "base64"; bytes.decode refuses those (but
    # only when there is something to decode), and "idna" refuses the "replace" error handler.
    try:
        b"a".decode(name, "replace")
    except (LookupError, ValueError):
        return False
    return True

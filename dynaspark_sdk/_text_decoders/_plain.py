"""Other `text/*` answers: the text, decoded as it arrives."""

from __future__ import annotations

import codecs

from ._base import ChunkAccumulator


class PlainTextDecoder(ChunkAccumulator):
    """`text/*` (but HTML): the body is the answer, returned as soon as its bytes arrive.

    Decoded as UTF-8 unless the Content-Type names another charset Python knows; bytes that do
    not decode become U+FFFD. UTF-16 and UTF-32 follow a byte order mark, and are big-endian
    without one.
    """

    def __init__(self, charset: str | None = None) -> None:
        super().__init__()
        encoding = codecs.lookup(charset).name if charset and _is_text_encoding(charset) else "utf-8"
        self._decoder: codecs.IncrementalDecoder | ByteOrderMarkDecoder
        if encoding in _BYTE_ORDERS:
            self._decoder = ByteOrderMarkDecoder(encoding)
        else:
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


# Python's incremental "utf-16" and "utf-32" decoders raise a bare UnicodeError on a body without
# a byte order mark (its one-shot bytes.decode guesses this machine's order instead). A plain-text
# answer's charset is read leniently everywhere else (bad bytes become U+FFFD, an unknown charset
# falls back to UTF-8), and this one is not ambiguous: RFC 2781 (4.3) and the Unicode standard
# (3.10, D98 and D101) say that such text without a mark is big-endian. So it is decoded so, not
# refused; with a mark, the mark gives the order and is not part of the text.
# charset -> (the size of its mark, the codec without a mark, the codec for each mark)
_BYTE_ORDERS = {
    "utf-16": (2, "utf-16-be", {codecs.BOM_UTF16_BE: "utf-16-be", codecs.BOM_UTF16_LE: "utf-16-le"}),
    "utf-32": (4, "utf-32-be", {codecs.BOM_UTF32_BE: "utf-32-be", codecs.BOM_UTF32_LE: "utf-32-le"}),
}


class ByteOrderMarkDecoder:
    """UTF-16 or UTF-32 in the order its byte order mark gives, big-endian without one.

    >>> decoder = ByteOrderMarkDecoder("utf-16")
    >>> decoder.decode(b"\\x00h"), decoder.decode(b"\\x00i", final=True)
    ('h', 'i')
    """

    def __init__(self, encoding: str) -> None:
        self._mark_size, self._unmarked, self._marked = _BYTE_ORDERS[encoding]
        self._start = b""
        self._decoder: codecs.IncrementalDecoder | None = None

    def decode(self, data: bytes, final: bool = False) -> str:
        """The text these bytes complete (bad bytes become U+FFFD); the first bytes wait until
        they show whether there is a mark."""
        if self._decoder is None:
            self._start += data
            if len(self._start) < self._mark_size and not final:
                return ""
            data, self._start = self._start, b""
            codec = self._marked.get(data[: self._mark_size])
            if codec is None:
                codec = self._unmarked
            else:
                data = data[self._mark_size :]
            self._decoder = codecs.getincrementaldecoder(codec)("replace")
        return self._decoder.decode(data, final)


def _is_text_encoding(name: str) -> bool:
    # codecs also knows bytes-to-bytes codecs such as "base64"; bytes.decode refuses those (but
    # only when there is something to decode), and "idna" refuses the "replace" error handler.
    try:
        b"a".decode(name, "replace")
    except (LookupError, ValueError):
        return False
    return True

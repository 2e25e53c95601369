"""Answers that are not the text asked for: an HTML page (the service waking up), or audio,
images and other non-text bodies. Both are refused at the end."""

from __future__ import annotations

from dynaspark_sdk._errors import ResponseValidationError, excerpt

from ._base import ChunkAccumulator, parse_content_type

# Enough of an HTML page for a useful excerpt; the rest is not kept.
_HTML_KEPT_BYTES = 4096


class HTMLPageDecoder(ChunkAccumulator):
    """`text/html`: an HTML page came instead of the answer (Render shows one while waking up).

    Raises `ResponseValidationError`, with an excerpt of the page, as soon as 4 KiB of it have
    arrived, or at `close()` if the page is shorter: there is no point in reading a long page to
    its end, and the excerpt only needs its beginning.
    """

    def __init__(self, content_type: str = "text/html") -> None:
        super().__init__()
        self._content_type = content_type
        self._start = bytearray()

    def feed(self, data: bytes) -> list[str]:
        """Keep the page's beginning; raise once there is enough of it for the excerpt."""
        self._start += data[: _HTML_KEPT_BYTES - len(self._start)]
        if len(self._start) >= _HTML_KEPT_BYTES:
            raise self._error()
        return []

    def close(self) -> list[str]:
        """Raise: an HTML page is never the answer."""
        raise self._error()

    def _error(self) -> ResponseValidationError:
        return ResponseValidationError(
            "an HTML page arrived instead of the answer (Render's proxy shows one while the service"
            " wakes up or is down); try again in a minute",
            content_type=self._content_type,
            body_excerpt=excerpt(bytes(self._start)),
        )


class NonTextDecoder(ChunkAccumulator):
    """A body that is not text (audio, image, octet stream, ...) where a text answer was expected.

    Raises `ResponseValidationError` naming the type at the first byte, or at `close()` if the
    body is empty: such a body may be large, and none of it would be of use.
    """

    def __init__(self, content_type: str) -> None:
        super().__init__()
        self._content_type = content_type

    def feed(self, data: bytes) -> list[str]:
        """Raise as soon as the body has a byte."""
        if data:
            raise self._error()
        return []

    def close(self) -> list[str]:
        """Raise: the answer is not text."""
        raise self._error()

    def _error(self) -> ResponseValidationError:
        media_type = parse_content_type(self._content_type)[0]
        return ResponseValidationError(
            f"a text answer was expected, but the answer is {media_type!r}", content_type=self._content_type
        )
